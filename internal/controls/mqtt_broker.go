package controls

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/collect"
	"github.com/hardgate/hardgate/internal/probe/mosquitto"
	mqttprobe "github.com/hardgate/hardgate/internal/probe/mqtt"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/scoring"
	"github.com/hardgate/hardgate/internal/spec"
)

// The mqtt_broker family judges MQTT brokers from two sources: the MQTT
// probe's observations of each broker URL of the target (runtime), and the
// effective settings of a mosquitto.conf named as the gateway config (kind
// mosquitto). Either source can fail a control; a source that could not
// decide makes it an error unless another failed it.

const mqttNotApplicable = "the target names no MQTT broker (mqtt.urls) and no mosquitto config"

// mosquittoConfig returns the mosquitto config observation, if the target named one.
func mosquittoConfig(o *collect.Observations) *collect.ConfigObservation {
	if o.Config == nil || o.Config.Kind != spec.KindMosquitto {
		return nil
	}
	return o.Config
}

func mqttEvidence(ex result.MQTTExchange, summary string) result.Evidence {
	e := ex
	return result.Evidence{Kind: "mqtt", Summary: summary, MQTT: &e}
}

func directiveEvidence(d *mosquitto.Directive, summary string) result.Evidence {
	return result.Evidence{Kind: "config", Summary: summary, Config: &result.ConfigLine{File: d.File, Line: d.Line, Key: d.Name, Value: d.Value}}
}

// listenerEvidence cites a listener line, or the absence of any (local-only mode).
func listenerEvidence(co *collect.ConfigObservation, p mosquitto.Posture, summary string) result.Evidence {
	if p.LocalOnly {
		return result.Evidence{Kind: "config", Summary: summary, Config: &result.ConfigLine{File: co.Path, Key: "listener", Value: "(none: local-only mode, port 1883 on loopback)"}}
	}
	d := p.Listener.Directive
	return directiveEvidence(&d, summary)
}

func listenerName(p mosquitto.Posture) string {
	if p.LocalOnly {
		return "the implicit local-only listener (no listener line)"
	}
	d := p.Listener.Directive
	return fmt.Sprintf("listener %q (%s:%d)", d.Value, d.File, d.Line)
}

// eachConfigListener runs judge on every listener posture of a mosquitto
// config the target named; a config that could not be read is undecided.
func eachConfigListener(o *collect.Observations, t *scoring.Tally, judge func(co *collect.ConfigObservation, p mosquitto.Posture)) {
	co := mosquittoConfig(o)
	if co == nil {
		return
	}
	if co.Err != nil || co.Mosquitto == nil {
		t.Undecide(fmt.Sprintf("the mosquitto config %s could not be read: %v", co.Path, co.Err))
		return
	}
	for _, p := range co.Mosquitto.Postures() {
		judge(co, p)
	}
}

// eachBroker runs judge on every probed broker; a probe that could not run is undecided.
func eachBroker(o *collect.Observations, t *scoring.Tally, judge func(r *mqttprobe.Result)) {
	for i := range o.MQTT {
		m := &o.MQTT[i]
		if m.Result == nil {
			t.Undecide(fmt.Sprintf("%s: the MQTT probe could not run: %v", m.URL, m.Err))
			continue
		}
		judge(m.Result)
	}
}

// connectDecision is what a CONNECT step decides about access.
type connectDecisionKind int

const (
	connectUndecided connectDecisionKind = iota
	connectAccepted
	connectRefused
)

// connectDecision classifies a CONNACK: code 0 accepts; a code that
// refuses the client's credentials or identity (MQTT 3.1.1: 4 bad user name
// or password, 5 not authorized; MQTT 5: 0x86, 0x87, 0x8A banned, 0x8C bad
// authentication method) refuses; any other code (protocol version, client
// id, server unavailable) or no answer decides nothing.
func connectDecision(r *mqttprobe.Result, st mqttprobe.Step) connectDecisionKind {
	switch {
	case st.Outcome == mqttprobe.Accepted:
		return connectAccepted
	case st.Outcome != mqttprobe.Refused:
		return connectUndecided
	case r.Version == mqttprobe.Version311 && (st.ReasonCode == 4 || st.ReasonCode == 5):
		return connectRefused
	case r.Version == mqttprobe.Version5 && slices.Contains([]int{0x86, 0x87, 0x8A, 0x8C}, st.ReasonCode):
		return connectRefused
	}
	return connectUndecided
}

// undecidedConnect says why a CONNECT step decided nothing.
func undecidedConnect(st mqttprobe.Step) string {
	if st.Outcome == mqttprobe.Refused {
		return st.Detail + ": not an authentication decision"
	}
	return st.Detail
}

func evalMQTTAnonymous(o *collect.Observations, _ *catalog.Control) scoring.Verdict {
	var t scoring.Tally
	eachBroker(o, &t, func(r *mqttprobe.Result) {
		st := r.Anonymous
		ev := mqttEvidence(st.Exchange, "CONNECT without username or password")
		switch connectDecision(r, st) {
		case connectAccepted:
			t.Fail(fmt.Sprintf("%s accepted an anonymous CONNECT (CONNACK 0)", r.Broker), ev)
		case connectRefused:
			t.Pass(fmt.Sprintf("%s refused an anonymous CONNECT (%s)", r.Broker, st.Detail), ev)
		default:
			t.Undecide(fmt.Sprintf("%s: %s", r.Broker, undecidedConnect(st)), ev)
		}
	})
	eachConfigListener(o, &t, func(co *collect.ConfigObservation, p mosquitto.Posture) {
		var ev result.Evidence
		if p.AllowAnonymous != nil {
			ev = directiveEvidence(p.AllowAnonymous, "allow_anonymous in force for "+listenerName(p))
		} else {
			ev = listenerEvidence(co, p, "no allow_anonymous for this listener")
		}
		if p.AnonymousAllowed {
			t.Fail(fmt.Sprintf("%s allows anonymous clients: %s", listenerName(p), p.AnonymousBecause), ev)
		} else {
			t.Pass(fmt.Sprintf("%s refuses anonymous clients: %s", listenerName(p), p.AnonymousBecause), ev)
		}
	})
	return t.Verdict(mqttNotApplicable)
}

func evalMQTTCredentials(o *collect.Observations, _ *catalog.Control) scoring.Verdict {
	var t scoring.Tally
	eachBroker(o, &t, func(r *mqttprobe.Result) {
		st := r.MadeUpCredentials
		ev := mqttEvidence(st.Exchange, "CONNECT with a made-up username and password")
		switch connectDecision(r, st) {
		case connectAccepted:
			t.Fail(fmt.Sprintf("%s accepted a made-up username and password (CONNACK 0)", r.Broker), ev)
		case connectRefused:
			t.Pass(fmt.Sprintf("%s refused a made-up username and password (%s)", r.Broker, st.Detail), ev)
		default:
			t.Undecide(fmt.Sprintf("%s: %s", r.Broker, undecidedConnect(st)), ev)
		}
	})
	eachConfigListener(o, &t, func(co *collect.ConfigObservation, p mosquitto.Posture) {
		switch {
		case p.PasswordFile != nil:
			t.Pass(listenerName(p)+" checks passwords", directiveEvidence(p.PasswordFile, "password_file"))
		case p.Plugin != nil:
			t.Pass(listenerName(p)+" authenticates through a plugin", directiveEvidence(p.Plugin, "authentication plugin"))
		case p.Authenticates():
			t.Pass(listenerName(p)+" authenticates clients by PSK or certificate identity", listenerEvidence(co, p, "listener"))
		case !p.AnonymousAllowed:
			t.Pass(listenerName(p)+" has no authentication source and refuses anonymous clients, so it accepts no client at all", listenerEvidence(co, p, "listener"))
		default:
			t.Fail(listenerName(p)+" has no password_file, plugin, psk_file or certificate identity: any client connects, whatever credentials it sends", listenerEvidence(co, p, "listener without an authentication source"))
		}
	})
	return t.Verdict(mqttNotApplicable)
}

// admitsNobody reports whether a listener refuses anonymous clients and has
// no authentication source, so that Mosquitto 2 accepts no client on it.
func admitsNobody(p mosquitto.Posture) bool { return !p.AnonymousAllowed && !p.Authenticates() }

// configACL reports whether every listener of the named mosquitto config
// admits nobody, delegates to a plugin, or has an acl_file that was read
// and parsed (a file that is only named is not enough).
func configACL(o *collect.Observations) bool {
	co := mosquittoConfig(o)
	if co == nil || co.Mosquitto == nil {
		return false
	}
	for _, p := range co.Mosquitto.Postures() {
		ao := co.ACLFor(p.ACLFile)
		if (ao == nil || ao.ACL == nil) && p.Plugin == nil && !admitsNobody(p) {
			return false
		}
	}
	return true
}

func listenWait(o *collect.Observations) string {
	if o.Target != nil && o.Target.MQTT.ListenFor > 0 {
		return time.Duration(o.Target.MQTT.ListenFor).String()
	}
	return mqttprobe.DefaultListenFor.String()
}

const subscriptionNotTested = "anonymous clients are refused and the target gave no credentials (mqtt.username, mqtt.password_env), so no subscription could be tested"

func evalMQTTWildcard(o *collect.Observations, _ *catalog.Control) scoring.Verdict {
	var t scoring.Tally
	eachBroker(o, &t, func(r *mqttprobe.Result) { judgeWildcard(&t, r, listenWait(o)) })
	eachConfigListener(o, &t, func(co *collect.ConfigObservation, p mosquitto.Posture) {
		switch {
		case admitsNobody(p):
			t.Pass(listenerName(p)+" admits no client (anonymous refused, no authentication source)", listenerEvidence(co, p, "listener"))
		case p.ACLFile != nil:
			judgeACL(&t, co, p, probeUser(o), `every topic (a filter of wildcards only, such as "#")`, everyTopic)
		case p.Plugin != nil:
			t.Pass(listenerName(p)+" delegates topic access to a plugin", directiveEvidence(p.Plugin, "plugin"))
		default:
			t.Fail(listenerName(p)+` has no acl_file: every client that connects may subscribe to "#" and read all telemetry`, listenerEvidence(co, p, "listener without an ACL"))
		}
	})
	return notTestedVerdict(t, o)
}

func evalMQTTSys(o *collect.Observations, _ *catalog.Control) scoring.Verdict {
	var t scoring.Tally
	acl := configACL(o)
	eachBroker(o, &t, func(r *mqttprobe.Result) {
		s := r.Sys
		if s.Outcome == mqttprobe.Accepted && s.Messages > 0 {
			t.Fail(fmt.Sprintf("%s granted \"$SYS/#\" to %s and delivered %d broker status messages (topics: %s)",
				r.Broker, s.As, s.Messages, strings.Join(s.Topics, ", ")), mqttEvidence(s.Exchange, "SUBSCRIBE $SYS/# as "+s.As))
			return
		}
		judgeSubscription(&t, r, s, `"$SYS/#"`, acl, listenWait(o))
	})
	eachConfigListener(o, &t, func(co *collect.ConfigObservation, p mosquitto.Posture) {
		if d, ok := co.Mosquitto.Global["sys_interval"]; ok && d.Value == "0" {
			t.Pass(listenerName(p)+": $SYS updates are off (sys_interval 0)", directiveEvidence(&d, "sys_interval"))
			return
		}
		switch {
		case admitsNobody(p):
			t.Pass(listenerName(p)+" admits no client (anonymous refused, no authentication source)", listenerEvidence(co, p, "listener"))
		case p.ACLFile != nil:
			judgeACL(&t, co, p, probeUser(o), "the broker's $SYS topics", sysTopics)
		case p.Plugin != nil:
			t.Pass(listenerName(p)+" delegates topic access to a plugin", directiveEvidence(p.Plugin, "plugin"))
		default:
			t.Fail(listenerName(p)+" has no acl_file and $SYS is published: every client that connects reads the broker's version, clients and load", listenerEvidence(co, p, "listener without an ACL"))
		}
	})
	return notTestedVerdict(t, o)
}

// notTestedVerdict is tally.verdict with a precise not-applicable reason
// when brokers were probed but refused every stranger and no credentials were given.
func notTestedVerdict(t scoring.Tally, o *collect.Observations) scoring.Verdict {
	if len(o.MQTT) > 0 {
		return t.Verdict(subscriptionNotTested)
	}
	return t.Verdict(mqttNotApplicable)
}

// plaintextNotChecked is the not-applicable reason of plaintext_listener
// when only TLS brokers were probed, no plaintext port was given and no
// mosquitto config was read.
const plaintextNotChecked = "no plaintext listener was looked for: the target names only mqtts:// brokers, " +
	"no mqtt.plaintext_port to try a plaintext CONNECT on (usually 1883) and no mosquitto config (gateway.kind mosquitto); " +
	"set mqtt.plaintext_port to check"

func evalMQTTPlaintext(o *collect.Observations, _ *catalog.Control) scoring.Verdict {
	var t scoring.Tally
	var unchecked []string
	eachBroker(o, &t, func(r *mqttprobe.Result) {
		pl := r.PlaintextListener
		ev := mqttEvidence(pl.Exchange, "CONNECT in plaintext to "+pl.Address)
		switch pl.Outcome {
		case mqttprobe.Accepted:
			t.Fail(fmt.Sprintf("a plaintext MQTT listener answered at %s: %s", pl.Address, pl.Detail), ev)
		case mqttprobe.Refused:
			t.Pass(fmt.Sprintf("nothing listens in plaintext at %s (connection refused)", pl.Address), ev)
		case mqttprobe.Skipped:
			// A TLS broker says nothing about a plaintext port beside it.
			unchecked = append(unchecked, r.Broker)
		default:
			t.Undecide(fmt.Sprintf("plaintext check of %s: %s", pl.Address, pl.Detail), ev)
		}
	})
	eachConfigListener(o, &t, func(co *collect.ConfigObservation, p mosquitto.Posture) {
		ev := listenerEvidence(co, p, "listener")
		switch {
		case p.TLS():
			t.Pass(listenerName(p)+" uses TLS (certfile)", ev)
		case p.Listener.Socket != "":
			t.Pass(listenerName(p)+" is a unix socket", ev)
		case p.Listener.Loopback():
			t.Fail(listenerName(p)+" is plaintext; it binds loopback only, so only local processes can reach it", ev)
		default:
			t.Fail(listenerName(p)+" is plaintext (no certfile) and reachable from the network", ev)
		}
	})
	notApplicable := mqttNotApplicable
	if len(unchecked) > 0 {
		notApplicable = plaintextNotChecked
	}
	v := t.Verdict(notApplicable)
	if v.Status == result.StatusPass && len(unchecked) > 0 && mosquittoConfig(o) == nil {
		v.Reason += fmt.Sprintf("; no plaintext port was tried beside %s (set mqtt.plaintext_port)", strings.Join(unchecked, ", "))
	}
	return v
}
