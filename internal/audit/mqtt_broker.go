package audit

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/probe/mosquitto"
	mqttprobe "github.com/hardgate/hardgate/internal/probe/mqtt"
	"github.com/hardgate/hardgate/internal/result"
)

// The mqtt_broker family judges MQTT brokers from two sources: the MQTT
// probe's observations of each broker URL of the target (runtime), and the
// effective settings of a mosquitto.conf named as the gateway config (kind
// mosquitto). Either source can fail a control; a source that could not
// decide makes it an error unless another failed it.

// MosquittoKind is the gateway config kind of a mosquitto.conf.
const MosquittoKind = "mosquitto"

// MQTTSpec names the MQTT brokers to probe.
type MQTTSpec struct {
	// URLs are broker endpoints: mqtt://127.0.0.1:1883 or mqtts://127.0.0.1:8883.
	URLs []string `yaml:"urls" json:"urls,omitempty"`
	// Version is the protocol: "3.1.1" (default) or "5".
	Version string `yaml:"version" json:"version,omitempty"`
	// CAFile verifies mqtts brokers (PEM); empty uses ingest.ca_file, then the system roots.
	CAFile string `yaml:"ca_file" json:"ca_file,omitempty"`
	// Username is an ordinary client's user name, used to test what an
	// authenticated client may subscribe to when anonymous clients are refused.
	Username string `yaml:"username" json:"username,omitempty"`
	// PasswordEnv names an environment variable holding Username's password.
	PasswordEnv string `yaml:"password_env" json:"password_env,omitempty"`
	// TopicPrefix is where the probe publishes its one marker message
	// (default hardgate/probe); it publishes nowhere else.
	TopicPrefix string `yaml:"topic_prefix" json:"topic_prefix,omitempty"`
	// ListenFor is how long the probe waits for messages after subscribing (default 2s).
	ListenFor Duration `yaml:"listen_for" json:"listen_for,omitempty"`
	// PlaintextPort is a port (1..65535; usually 1883) on the host of each
	// mqtts:// URL where the probe tries a plaintext CONNECT, to find a
	// plaintext listener beside the TLS one. 0 (the default) checks nothing,
	// and without a mosquitto config plaintext_listener is then not
	// applicable for an mqtts-only target. An mqtt:// URL is itself the
	// plaintext listener and ignores it.
	PlaintextPort int `yaml:"plaintext_port" json:"plaintext_port,omitempty"`
}

func (s *MQTTSpec) validate(add func(field, value, msg string)) {
	for i, raw := range s.URLs {
		field := fmt.Sprintf("mqtt.urls[%d]", i)
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			add(field, raw, "is not a URL")
		case !slices.Contains([]string{"mqtt", "mqtts", "tcp", "ssl", "tls"}, u.Scheme):
			add(field, raw, "scheme must be mqtt or mqtts")
		case u.Hostname() == "":
			add(field, raw, "has no host")
		case u.User != nil:
			add(field, raw, "must not carry credentials; use mqtt.username and mqtt.password_env")
		}
	}
	if s.Version != "" && s.Version != "3.1.1" && s.Version != "5" {
		add("mqtt.version", s.Version, `must be "3.1.1" or "5"`)
	}
	if s.CAFile != "" {
		if _, err := os.Stat(s.CAFile); err != nil {
			add("mqtt.ca_file", s.CAFile, "cannot be read: "+errText(err))
		}
	}
	if s.PasswordEnv != "" {
		switch {
		case s.Username == "":
			add("mqtt.username", "", "required when mqtt.password_env is set")
		case strings.ContainsAny(s.PasswordEnv, "= \t"):
			add("mqtt.password_env", s.PasswordEnv, "must be an environment variable name")
		case os.Getenv(s.PasswordEnv) == "":
			add("mqtt.password_env", s.PasswordEnv, "the environment variable is unset or empty")
		}
	}
	if strings.ContainsAny(s.TopicPrefix, "#+\x00") {
		add("mqtt.topic_prefix", s.TopicPrefix, "must not contain a wildcard")
	}
	if s.ListenFor < 0 {
		add("mqtt.listen_for", time.Duration(s.ListenFor).String(), "must not be negative")
	}
	if s.PlaintextPort != 0 {
		hasTLS := slices.ContainsFunc(s.URLs, func(raw string) bool {
			u, err := url.Parse(raw)
			return err == nil && isMQTTS(u.Scheme)
		})
		switch {
		case s.PlaintextPort < 1 || s.PlaintextPort > 65535:
			add("mqtt.plaintext_port", strconv.Itoa(s.PlaintextPort), "must be a port from 1 to 65535 (0 or absent: no plaintext check)")
		case len(s.URLs) > 0 && !hasTLS:
			add("mqtt.plaintext_port", strconv.Itoa(s.PlaintextPort), "applies to mqtts:// URLs only, and mqtt.urls has none (an mqtt:// URL is itself the plaintext listener)")
		}
	}
	if len(s.URLs) == 0 && (s.Username != "" || s.CAFile != "" || s.PlaintextPort != 0) {
		add("mqtt.urls", "", "required when other mqtt settings are given")
	}
}

// isMQTTS reports whether a broker URL scheme means MQTT over TLS.
func isMQTTS(scheme string) bool { return scheme == "mqtts" || scheme == "ssl" || scheme == "tls" }

// MQTTObservation is the probe of one broker URL.
type MQTTObservation struct {
	URL string
	// Result is nil when the probe could not run (Err says why).
	Result *mqttprobe.Result
	Err    error
}

// collectMQTT probes every broker URL of the target, one after the other.
func collectMQTT(ctx context.Context, t *Target) []MQTTObservation {
	s := t.MQTT
	if len(s.URLs) == 0 {
		return nil
	}
	out := make([]MQTTObservation, len(s.URLs))
	var roots *x509.CertPool
	var rootsErr error
	caFile := s.CAFile
	if caFile == "" {
		caFile = t.Ingest.CAFile
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			rootsErr = fmt.Errorf("read CA file: %w", err)
		} else if roots = x509.NewCertPool(); !roots.AppendCertsFromPEM(pem) {
			rootsErr = fmt.Errorf("ca_file %s: no PEM certificate found", caFile)
		}
	}
	version := mqttprobe.Version311
	if s.Version == "5" {
		version = mqttprobe.Version5
	}
	for i, raw := range s.URLs {
		out[i].URL = raw
		if rootsErr != nil {
			out[i].Err = rootsErr
			continue
		}
		spec := mqttprobe.Spec{
			URL: raw, Version: version, Username: s.Username, RootCAs: roots,
			TopicPrefix: s.TopicPrefix, StepTimeout: time.Duration(t.Timeouts.Request),
			ListenFor: time.Duration(s.ListenFor), PlaintextPort: s.PlaintextPort,
		}
		if s.PasswordEnv != "" {
			spec.Password = os.Getenv(s.PasswordEnv)
		}
		out[i].Result, out[i].Err = mqttprobe.Probe(ctx, spec, nil)
	}
	return out
}

const mqttNotApplicable = "the target names no MQTT broker (mqtt.urls) and no mosquitto config"

// mosquittoConfig returns the mosquitto config observation, if the target named one.
func mosquittoConfig(o *Observations) *ConfigObservation {
	if o.Config == nil || o.Config.Kind != MosquittoKind {
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
func listenerEvidence(co *ConfigObservation, p mosquitto.Posture, summary string) result.Evidence {
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
func eachConfigListener(o *Observations, t *tally, judge func(co *ConfigObservation, p mosquitto.Posture)) {
	co := mosquittoConfig(o)
	if co == nil {
		return
	}
	if co.Err != nil || co.Mosquitto == nil {
		t.undecide(fmt.Sprintf("the mosquitto config %s could not be read: %v", co.Path, co.Err))
		return
	}
	for _, p := range co.Mosquitto.Postures() {
		judge(co, p)
	}
}

// eachBroker runs judge on every probed broker; a probe that could not run is undecided.
func eachBroker(o *Observations, t *tally, judge func(r *mqttprobe.Result)) {
	for i := range o.MQTT {
		m := &o.MQTT[i]
		if m.Result == nil {
			t.undecide(fmt.Sprintf("%s: the MQTT probe could not run: %v", m.URL, m.Err))
			continue
		}
		judge(m.Result)
	}
}

func evalMQTTAnonymous(o *Observations, _ *catalog.Control) Verdict {
	var t tally
	eachBroker(o, &t, func(r *mqttprobe.Result) {
		st := r.Anonymous
		ev := mqttEvidence(st.Exchange, "CONNECT without username or password")
		switch st.Outcome {
		case mqttprobe.Accepted:
			t.fail(fmt.Sprintf("%s accepted an anonymous CONNECT (CONNACK 0)", r.Broker), ev)
		case mqttprobe.Refused:
			t.pass(fmt.Sprintf("%s refused an anonymous CONNECT (%s)", r.Broker, st.Detail), ev)
		default:
			t.undecide(fmt.Sprintf("%s: %s", r.Broker, st.Detail), ev)
		}
	})
	eachConfigListener(o, &t, func(co *ConfigObservation, p mosquitto.Posture) {
		var ev result.Evidence
		if p.AllowAnonymous != nil {
			ev = directiveEvidence(p.AllowAnonymous, "allow_anonymous in force for "+listenerName(p))
		} else {
			ev = listenerEvidence(co, p, "no allow_anonymous for this listener")
		}
		if p.AnonymousAllowed {
			t.fail(fmt.Sprintf("%s allows anonymous clients: %s", listenerName(p), p.AnonymousBecause), ev)
		} else {
			t.pass(fmt.Sprintf("%s refuses anonymous clients: %s", listenerName(p), p.AnonymousBecause), ev)
		}
	})
	return t.verdict(mqttNotApplicable)
}

func evalMQTTCredentials(o *Observations, _ *catalog.Control) Verdict {
	var t tally
	eachBroker(o, &t, func(r *mqttprobe.Result) {
		st := r.MadeUpCredentials
		ev := mqttEvidence(st.Exchange, "CONNECT with a made-up username and password")
		switch st.Outcome {
		case mqttprobe.Accepted:
			t.fail(fmt.Sprintf("%s accepted a made-up username and password (CONNACK 0)", r.Broker), ev)
		case mqttprobe.Refused:
			t.pass(fmt.Sprintf("%s refused a made-up username and password (%s)", r.Broker, st.Detail), ev)
		default:
			t.undecide(fmt.Sprintf("%s: %s", r.Broker, st.Detail), ev)
		}
	})
	eachConfigListener(o, &t, func(co *ConfigObservation, p mosquitto.Posture) {
		switch {
		case p.PasswordFile != nil:
			t.pass(listenerName(p)+" checks passwords", directiveEvidence(p.PasswordFile, "password_file"))
		case p.Plugin != nil:
			t.pass(listenerName(p)+" authenticates through a plugin", directiveEvidence(p.Plugin, "authentication plugin"))
		case p.Authenticates():
			t.pass(listenerName(p)+" authenticates clients by PSK or certificate identity", listenerEvidence(co, p, "listener"))
		case !p.AnonymousAllowed:
			t.pass(listenerName(p)+" has no authentication source and refuses anonymous clients, so it accepts no client at all", listenerEvidence(co, p, "listener"))
		default:
			t.fail(listenerName(p)+" has no password_file, plugin, psk_file or certificate identity: any client connects, whatever credentials it sends", listenerEvidence(co, p, "listener without an authentication source"))
		}
	})
	return t.verdict(mqttNotApplicable)
}

// judgeSubscription judges a probe subscription: fail when it delivered a
// message from another client; pass when refused; when granted with nothing
// foreign delivered, the ACL of the mosquitto config decides, if known.
func judgeSubscription(t *tally, r *mqttprobe.Result, s mqttprobe.Subscription, what string, aclKnown bool, wait string) {
	ev := mqttEvidence(s.Exchange, "SUBSCRIBE "+s.Exchange.Topic+" as "+s.As)
	who := s.As
	if who != "anonymous" {
		who = "user " + who
	}
	switch s.Outcome {
	case mqttprobe.Accepted:
		foreign := s.Foreign
		if foreign > 0 {
			t.fail(fmt.Sprintf("%s granted %s to %s and delivered %d messages from other clients within %s (topics: %s)",
				r.Broker, what, who, foreign, wait, strings.Join(s.Topics, ", ")), ev)
			return
		}
		if aclKnown {
			t.pass(fmt.Sprintf("%s granted %s to %s but delivered no other client's message within %s, and the mosquitto config filters deliveries with an ACL",
				r.Broker, what, who, wait), ev)
			return
		}
		t.undecide(fmt.Sprintf("%s granted %s to %s but no other client's message arrived within %s: without traffic or the broker's config (gateway.kind mosquitto) the probe cannot tell whether an ACL filters deliveries",
			r.Broker, what, who, wait), ev)
	case mqttprobe.Refused:
		t.pass(fmt.Sprintf("%s refused %s to %s (%s)", r.Broker, what, who, s.Detail), ev)
	case mqttprobe.Skipped:
		if r.Anonymous.Outcome == mqttprobe.Refused {
			// Strangers cannot connect; nothing to judge without credentials.
			return
		}
		t.undecide(fmt.Sprintf("%s: %s", r.Broker, s.Detail), ev)
	default:
		t.undecide(fmt.Sprintf("%s: %s", r.Broker, s.Detail), ev)
	}
}

// admitsNobody reports whether a listener refuses anonymous clients and has
// no authentication source, so that Mosquitto 2 accepts no client on it.
func admitsNobody(p mosquitto.Posture) bool { return !p.AnonymousAllowed && !p.Authenticates() }

// configACL reports whether every listener of the named mosquitto config has an ACL (file or plugin).
func configACL(o *Observations) bool {
	co := mosquittoConfig(o)
	if co == nil || co.Mosquitto == nil {
		return false
	}
	for _, p := range co.Mosquitto.Postures() {
		if p.ACLFile == nil && p.Plugin == nil && !admitsNobody(p) {
			return false
		}
	}
	return true
}

func listenWait(o *Observations) string {
	if o.Target != nil && o.Target.MQTT.ListenFor > 0 {
		return time.Duration(o.Target.MQTT.ListenFor).String()
	}
	return mqttprobe.DefaultListenFor.String()
}

const subscriptionNotTested = "anonymous clients are refused and the target gave no credentials (mqtt.username, mqtt.password_env), so no subscription could be tested"

func evalMQTTWildcard(o *Observations, _ *catalog.Control) Verdict {
	var t tally
	acl := configACL(o)
	eachBroker(o, &t, func(r *mqttprobe.Result) { judgeSubscription(&t, r, r.Wildcard, `"#"`, acl, listenWait(o)) })
	eachConfigListener(o, &t, func(co *ConfigObservation, p mosquitto.Posture) {
		switch {
		case admitsNobody(p):
			t.pass(listenerName(p)+" admits no client (anonymous refused, no authentication source)", listenerEvidence(co, p, "listener"))
		case p.ACLFile != nil:
			t.pass(listenerName(p)+" restricts topics with an ACL", directiveEvidence(p.ACLFile, "acl_file"))
		case p.Plugin != nil:
			t.pass(listenerName(p)+" delegates topic access to a plugin", directiveEvidence(p.Plugin, "plugin"))
		default:
			t.fail(listenerName(p)+` has no acl_file: every client that connects may subscribe to "#" and read all telemetry`, listenerEvidence(co, p, "listener without an ACL"))
		}
	})
	return notTestedVerdict(t, o)
}

func evalMQTTSys(o *Observations, _ *catalog.Control) Verdict {
	var t tally
	acl := configACL(o)
	eachBroker(o, &t, func(r *mqttprobe.Result) {
		s := r.Sys
		if s.Outcome == mqttprobe.Accepted && s.Messages > 0 {
			t.fail(fmt.Sprintf("%s granted \"$SYS/#\" to %s and delivered %d broker status messages (topics: %s)",
				r.Broker, s.As, s.Messages, strings.Join(s.Topics, ", ")), mqttEvidence(s.Exchange, "SUBSCRIBE $SYS/# as "+s.As))
			return
		}
		judgeSubscription(&t, r, s, `"$SYS/#"`, acl, listenWait(o))
	})
	eachConfigListener(o, &t, func(co *ConfigObservation, p mosquitto.Posture) {
		if d, ok := co.Mosquitto.Global["sys_interval"]; ok && d.Value == "0" {
			t.pass(listenerName(p)+": $SYS updates are off (sys_interval 0)", directiveEvidence(&d, "sys_interval"))
			return
		}
		switch {
		case admitsNobody(p):
			t.pass(listenerName(p)+" admits no client (anonymous refused, no authentication source)", listenerEvidence(co, p, "listener"))
		case p.ACLFile != nil:
			t.pass(listenerName(p)+" restricts $SYS with an ACL", directiveEvidence(p.ACLFile, "acl_file"))
		case p.Plugin != nil:
			t.pass(listenerName(p)+" delegates topic access to a plugin", directiveEvidence(p.Plugin, "plugin"))
		default:
			t.fail(listenerName(p)+" has no acl_file and $SYS is published: every client that connects reads the broker's version, clients and load", listenerEvidence(co, p, "listener without an ACL"))
		}
	})
	return notTestedVerdict(t, o)
}

// notTestedVerdict is tally.verdict with a precise not-applicable reason
// when brokers were probed but refused every stranger and no credentials were given.
func notTestedVerdict(t tally, o *Observations) Verdict {
	if len(o.MQTT) > 0 {
		return t.verdict(subscriptionNotTested)
	}
	return t.verdict(mqttNotApplicable)
}

// plaintextNotChecked is the not-applicable reason of plaintext_listener
// when only TLS brokers were probed, no plaintext port was given and no
// mosquitto config was read.
const plaintextNotChecked = "no plaintext listener was looked for: the target names only mqtts:// brokers, " +
	"no mqtt.plaintext_port to try a plaintext CONNECT on (usually 1883) and no mosquitto config (gateway.kind mosquitto); " +
	"set mqtt.plaintext_port to check"

func evalMQTTPlaintext(o *Observations, _ *catalog.Control) Verdict {
	var t tally
	var unchecked []string
	eachBroker(o, &t, func(r *mqttprobe.Result) {
		pl := r.PlaintextListener
		ev := mqttEvidence(pl.Exchange, "CONNECT in plaintext to "+pl.Address)
		switch pl.Outcome {
		case mqttprobe.Accepted:
			t.fail(fmt.Sprintf("a plaintext MQTT listener answered at %s: %s", pl.Address, pl.Detail), ev)
		case mqttprobe.Refused:
			t.pass(fmt.Sprintf("nothing listens in plaintext at %s (connection refused)", pl.Address), ev)
		case mqttprobe.Skipped:
			// A TLS broker says nothing about a plaintext port beside it.
			unchecked = append(unchecked, r.Broker)
		default:
			t.undecide(fmt.Sprintf("plaintext check of %s: %s", pl.Address, pl.Detail), ev)
		}
	})
	eachConfigListener(o, &t, func(co *ConfigObservation, p mosquitto.Posture) {
		ev := listenerEvidence(co, p, "listener")
		switch {
		case p.TLS():
			t.pass(listenerName(p)+" uses TLS (certfile)", ev)
		case p.Listener.Socket != "":
			t.pass(listenerName(p)+" is a unix socket", ev)
		case p.Listener.Loopback():
			t.fail(listenerName(p)+" is plaintext; it binds loopback only, so only local processes can reach it", ev)
		default:
			t.fail(listenerName(p)+" is plaintext (no certfile) and reachable from the network", ev)
		}
	})
	notApplicable := mqttNotApplicable
	if len(unchecked) > 0 {
		notApplicable = plaintextNotChecked
	}
	v := t.verdict(notApplicable)
	if v.Status == result.StatusPass && len(unchecked) > 0 && mosquittoConfig(o) == nil {
		v.Reason += fmt.Sprintf("; no plaintext port was tried beside %s (set mqtt.plaintext_port)", strings.Join(unchecked, ", "))
	}
	return v
}

// readMosquittoConfig reads the mosquitto.conf named by co (and its
// include_dir files) into co, returning the files read with their digests.
func readMosquittoConfig(co *ConfigObservation) []result.ConfigFile {
	c, err := mosquitto.Load(co.Path)
	if err != nil {
		co.Err = err
		return nil
	}
	co.Mosquitto = c
	files := make([]result.ConfigFile, len(c.Files))
	for i, f := range c.Files {
		files[i] = result.ConfigFile{Path: f, Kind: MosquittoKind, SHA256: c.SHA256[i]}
	}
	return files
}
