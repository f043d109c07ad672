package mqtt

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/hardgate/hardgate/internal/probe/neterr"
	"github.com/hardgate/hardgate/internal/result"
)

// connect dials addr and sends CONNECT (anonymous when req is nil), one
// step: the dial, the TLS handshake and the CONNACK share one deadline. The
// session is returned open only when the broker accepted. With verify, the
// TLS handshake itself verifies the broker's chain and name against
// Spec.RootCAs, and a chain that does not verify ends the step Skipped
// before CONNECT is sent: that is how real credentials travel.
func (p *prober) connect(ctx context.Context, addr string, useTLS, verify bool, req *connectRequest) (*session, Step) {
	deadline := stepDeadline(ctx, p.spec.StepTimeout)
	st := Step{Exchange: result.MQTTExchange{Broker: p.t.broker, Action: "connect"}}
	if req != nil {
		st.Exchange.Username = req.username
	} else {
		req = &connectRequest{}
	}
	req.clientID = randomToken("hardgate-probe-")
	fail := func(err error) (*session, Step) {
		st.Outcome, st.Detail, st.ErrKind = Failed, err.Error(), neterr.Classify(err)
		st.Exchange.Outcome, st.Exchange.Error = string(Failed), err.Error()
		return nil, st
	}
	s, err := p.dial(ctx, addr, useTLS, verify, deadline)
	if verify && neterr.Classify(err) == neterr.TLSVerify {
		st.Outcome, st.Detail = Skipped, withheldUnverified+err.Error()
		st.Exchange.Outcome, st.Exchange.Error = string(Skipped), st.Detail
		return nil, st
	}
	if err != nil {
		return fail(err)
	}
	s.clientID = req.clientID
	code, err := s.connect(ctx, *req, deadline)
	if err != nil {
		s.close()
		return fail(err)
	}
	st.Answered = true
	st.ReasonCode, st.Exchange.ReasonCode = code, code
	if code == 0 {
		st.Outcome, st.Detail = Accepted, "CONNACK 0 (accepted)"
	} else {
		// Whether the code decides anything about credentials (it may
		// refuse the protocol version or the client id instead) is for the
		// controls to judge; the probe records the code and its name.
		st.Outcome, st.Detail = Refused, "CONNACK "+strconv.Itoa(code)+" ("+connackText(p.t.version, code)+")"
	}
	if code != 0 {
		s.close()
		s = nil
	}
	st.Exchange.Outcome = string(st.Outcome)
	return s, st
}

func (p *prober) dial(ctx context.Context, addr string, useTLS, verify bool, deadline time.Time) (*session, error) {
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", addr)
	if addr == p.t.address {
		p.res.Dial = result.TCPDial{Address: addr, Connected: err == nil}
		if err != nil {
			p.res.Dial.Error = err.Error()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	if useTLS {
		cfg := &tls.Config{
			ServerName: p.t.host,
			// Verification is done below, by hand, so that the anonymous
			// access steps run against a broker whose certificate does not
			// verify: an attacker would not verify it either.
			InsecureSkipVerify: true, //nolint:gosec // verified manually, outcome recorded
			MinVersion:         tls.VersionTLS10,
		}
		if verify {
			// A connection that carries credentials verifies in the
			// handshake, before any byte of CONNECT is written.
			cfg = &tls.Config{ServerName: p.t.host, RootCAs: p.spec.RootCAs, MinVersion: tls.VersionTLS12}
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("tls handshake with %s: %w", addr, &neterr.HandshakeError{Err: err})
		}
		if addr == p.t.address && p.res.TLSVersion == "" {
			cs := tc.ConnectionState()
			p.res.TLSVersion = tls.VersionName(cs.Version)
			if err := verifyChain(cs, p.t.host, p.spec.RootCAs); err != nil {
				p.res.TLSVerifyError = err.Error()
			}
		}
		conn = tc
	}
	if addr == p.t.address {
		p.res.Reachable = true
	}
	return &session{conn: conn, rd: bufio.NewReader(conn), version: p.t.version, received: map[string]int{}}, nil
}

func verifyChain(cs tls.ConnectionState, host string, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no certificate presented")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter})
	return err
}

func randomToken(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// errNoAnswer is the error of a step that got no answer in time.
var errNoAnswer = errors.New("no answer from the broker before the deadline")
