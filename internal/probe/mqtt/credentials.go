package mqtt

import (
	"context"

	"github.com/hardgate/hardgate/internal/result"
)

// Why the spec's credentials were not sent.
const (
	withheldPlaintext = "not sent: the broker URL is plaintext (mqtt://); real credentials go only over mqtts:// " +
		"whose certificate verifies against the trust anchor (mqtt.ca_file)"
	withheldUnverified = "not sent: the broker's certificate did not verify against the trust anchor (mqtt.ca_file): "
)

// credentialRequest is the CONNECT with the spec's credentials.
func (p *prober) credentialRequest() *connectRequest {
	return &connectRequest{username: p.spec.Username, password: p.spec.Password, withUser: true}
}

// credentialsWithheld says why the spec's credentials must not be sent to
// this broker, "" when they may be (on a connection that verifies).
func (p *prober) credentialsWithheld() string {
	switch {
	case !p.t.tls:
		return withheldPlaintext
	case p.res.TLSVerifyError != "":
		return withheldUnverified + p.res.TLSVerifyError
	}
	return ""
}

// connectWithCredentials runs the CONNECT with the spec's credentials and
// fills Result.Credentials: only over TLS whose handshake verified the
// broker, never over plaintext or a chain that did not verify. The session
// is returned open when the broker accepted.
func (p *prober) connectWithCredentials(ctx context.Context) *session {
	r := &p.res
	skip := func(why string) {
		r.Credentials = Step{Outcome: Skipped, Detail: why, Exchange: result.MQTTExchange{
			Broker: p.t.broker, Action: "connect", Username: p.spec.Username, Outcome: string(Skipped), Error: why}}
	}
	if p.spec.Username == "" {
		skip("no credentials given")
		r.Credentials.Exchange.Error = ""
		return nil
	}
	if why := p.credentialsWithheld(); why != "" {
		r.CredentialsWithheld = why
		skip(why)
		return nil
	}
	s, st := p.connect(ctx, p.t.address, true, true, p.credentialRequest())
	r.Credentials = st
	if st.Outcome == Skipped {
		r.CredentialsWithheld = st.Detail
	}
	return s
}
