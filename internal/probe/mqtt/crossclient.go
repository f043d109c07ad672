package mqtt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// CrossClient is the active test of cross-client reads: a second
// connection, with the identity the subscriber used and its own client id,
// subscribes to its own marker topic, publishes a marker there and waits
// for it to come back; meanwhile the first connection holds "#".
type CrossClient struct {
	// Step: Accepted when the marker came back to its publisher (the
	// broker took the PUBLISH and routed it); Refused when the broker
	// refused the second connection or its SUBSCRIBE, or the marker did not
	// come back within the step (the PUBLISH was refused or dropped);
	// Failed when nothing was decided; Skipped when it did not run.
	Step
	// ClientID is the second connection's client id; Topic its marker's
	// topic (TopicPrefix/ClientID), outside the first connection's own.
	ClientID string
	Topic    string
	// Seen is set when the marker arrived on the first connection's "#":
	// one client read another client's message.
	Seen bool
}

// marker is the payload of every PUBLISH the probe sends.
func (p *prober) marker(clientID string) []byte {
	b, _ := json.Marshal(struct {
		Probe    bool   `json:"_hardgate_probe"`
		AuditID  string `json:"audit_id,omitempty"`
		ClientID string `json:"client_id"`
	}{true, p.spec.AuditID, clientID})
	return b
}

// markerTopic is the one topic a connection of the probe publishes on.
func (p *prober) markerTopic(s *session) string { return p.spec.TopicPrefix + "/" + s.clientID }

// crossClient runs the second connection as the subscriber did: anonymous,
// or with the spec's credentials over a verified connection.
func (p *prober) crossClient(ctx context.Context, as string) {
	cc := &p.res.CrossClient
	defer func() {
		cc.Exchange.Broker, cc.Exchange.Action, cc.Exchange.Topic = p.t.broker, "publish", cc.Topic
		cc.Exchange.ReasonCode, cc.Exchange.Outcome = cc.ReasonCode, string(cc.Outcome)
		if cc.Outcome != Accepted {
			cc.Exchange.Error = cc.Detail
		}
		if as != "anonymous" {
			cc.Exchange.Username = as
		}
		p.record(&cc.Step)
	}()
	var req *connectRequest
	verify := false
	if as != "anonymous" {
		req, verify = p.credentialRequest(), true
	}
	s, st := p.connect(ctx, p.t.address, p.t.tls, verify, req)
	if s == nil {
		cc.Step = st
		cc.Detail = "the second connection: " + st.Detail
		return
	}
	defer s.close()
	cc.ClientID, cc.Topic = s.clientID, p.markerTopic(s)
	code, err := s.subscribe(ctx, 1, cc.Topic, p.spec.StepTimeout)
	cc.ReasonCode = code
	switch {
	case err != nil:
		cc.Outcome, cc.Detail = Failed, "the second connection's SUBSCRIBE to its own topic: "+err.Error()
		return
	case code >= 0x80:
		cc.Outcome, cc.Detail = Refused, "the broker refused the second connection's SUBSCRIBE to its own topic ("+subackText(p.t.version, code)+")"
		return
	}
	deadline := stepDeadline(ctx, p.spec.StepTimeout)
	if err := s.write(ctx, encodePublish(s.version, cc.Topic, p.marker(s.clientID)), deadline); err != nil {
		cc.Outcome, cc.Detail = Failed, "the second connection's PUBLISH: "+err.Error()
		return
	}
	_, err = s.await(ctx, deadline, func(f frame) (bool, error) {
		if f.kind() != typePublish {
			return false, nil
		}
		topic, err := decodePublishTopic(f)
		return topic == cc.Topic, err
	})
	switch {
	case errors.Is(err, errNoAnswer):
		cc.Outcome = Refused
		cc.Detail = fmt.Sprintf("the second connection's marker did not come back to it within %s: the broker refused or dropped its PUBLISH", p.spec.StepTimeout)
	case err != nil:
		cc.Outcome, cc.Detail = Failed, "the second connection, awaiting its marker: "+err.Error()
	default:
		cc.Outcome, cc.Detail = Accepted, "the broker delivered the second connection's marker back to it"
	}
}
