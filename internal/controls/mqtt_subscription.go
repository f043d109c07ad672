package controls

import (
	"fmt"
	"strings"

	mqttprobe "github.com/hardgate/hardgate/internal/probe/mqtt"
	"github.com/hardgate/hardgate/internal/scoring"
)

// subscriber names who a probe subscription ran as.
func subscriber(s mqttprobe.Subscription) string {
	if s.As != "anonymous" {
		return "user " + s.As
	}
	return s.As
}

// judgeWildcard judges the probe's "#" subscription. Granted, it fails when
// another client's message arrived or when the marker a second probe
// connection published on its own topic did; it passes when that marker
// reached its publisher but not the "#" subscriber; and it is undecided when
// the second connection's marker could not be confirmed (a broker that
// refuses its PUBLISH). Refused, skipped or failed: as judgeSubscription.
func judgeWildcard(t *scoring.Tally, r *mqttprobe.Result, wait string) {
	s, cc := r.Wildcard, r.CrossClient
	if s.Outcome != mqttprobe.Accepted {
		judgeSubscription(t, r, s, `"#"`, false, wait)
		return
	}
	ev := mqttEvidence(s.Exchange, "SUBSCRIBE # as "+s.As)
	ccEv := mqttEvidence(cc.Exchange, "the second probe connection's marker on "+cc.Topic)
	who := subscriber(s)
	switch {
	case s.Foreign > 0:
		t.Fail(fmt.Sprintf("%s granted \"#\" to %s and delivered %d messages from other clients within %s (topics: %s)",
			r.Broker, who, s.Foreign, wait, strings.Join(s.Topics, ", ")), ev)
	case cc.Seen:
		t.Fail(fmt.Sprintf("%s granted \"#\" to %s and delivered to it the marker that a second probe connection (client id %s) published on %s: a client reads other clients' messages",
			r.Broker, who, cc.ClientID, cc.Topic), ev, ccEv)
	case cc.Outcome == mqttprobe.Accepted:
		t.Pass(fmt.Sprintf("%s granted \"#\" to %s but did not deliver to it, within %s, the marker that a second probe connection (client id %s) published on %s and got back itself: deliveries are filtered per client",
			r.Broker, who, wait, cc.ClientID, cc.Topic), ev, ccEv)
	default:
		t.Undecide(fmt.Sprintf("%s granted \"#\" to %s, no other client's message arrived within %s, and the cross-client test decided nothing: %s",
			r.Broker, who, wait, cc.Detail), ev, ccEv)
	}
}

// judgeSubscription judges a probe subscription: fail when it delivered a
// message from another client; pass when refused; when granted with nothing
// foreign delivered, the ACL of the mosquitto config decides, if known.
func judgeSubscription(t *scoring.Tally, r *mqttprobe.Result, s mqttprobe.Subscription, what string, aclKnown bool, wait string) {
	ev := mqttEvidence(s.Exchange, "SUBSCRIBE "+s.Exchange.Topic+" as "+s.As)
	who := subscriber(s)
	switch s.Outcome {
	case mqttprobe.Accepted:
		foreign := s.Foreign
		if foreign > 0 {
			t.Fail(fmt.Sprintf("%s granted %s to %s and delivered %d messages from other clients within %s (topics: %s)",
				r.Broker, what, who, foreign, wait, strings.Join(s.Topics, ", ")), ev)
			return
		}
		if aclKnown {
			t.Pass(fmt.Sprintf("%s granted %s to %s but delivered no other client's message within %s, and the mosquitto config filters deliveries with an ACL",
				r.Broker, what, who, wait), ev)
			return
		}
		t.Undecide(fmt.Sprintf("%s granted %s to %s but no other client's message arrived within %s: without traffic or the broker's config (gateway.kind mosquitto) the probe cannot tell whether an ACL filters deliveries",
			r.Broker, what, who, wait), ev)
	case mqttprobe.Refused:
		t.Pass(fmt.Sprintf("%s refused %s to %s (%s)", r.Broker, what, who, s.Detail), ev)
	case mqttprobe.Skipped:
		if r.CredentialsWithheld != "" && r.Anonymous.Outcome == mqttprobe.Refused {
			// The target gave credentials for this test and the probe
			// would not send them: undecided, and the reason says why.
			t.Undecide(fmt.Sprintf("%s: %s was not tested as %s: the credentials were %s", r.Broker, what, r.Credentials.Exchange.Username, r.CredentialsWithheld), ev)
			return
		}
		if connectDecision(r, r.Anonymous) == connectRefused {
			// Strangers cannot connect; nothing to judge without credentials.
			return
		}
		t.Undecide(fmt.Sprintf("%s: %s", r.Broker, s.Detail), ev)
	default:
		t.Undecide(fmt.Sprintf("%s: %s", r.Broker, s.Detail), ev)
	}
}
