// Package mqtt probes an MQTT broker (mqtt:// or mqtts://, MQTT 3.1.1 or 5)
// for the access it grants to a stranger: an anonymous CONNECT, a CONNECT
// with made-up credentials, a SUBSCRIBE to "#" and to "$SYS/#" and whether
// messages then flow, and whether a plaintext listener answers.
//
// The probe observes and never judges: every step returns what the broker
// said (the raw CONNACK or SUBACK code) as a result.MQTTExchange, and a step
// that could not decide (refused connection, timeout, garbage) is an error
// outcome, never a success. It writes nothing but its markers: QoS 0 PUBLISH
// packets with a JSON payload marked "_hardgate_probe", each on the topic
// Spec.TopicPrefix/<client id> of the connection that sends it.
//
// Whether "#" delivers other clients' messages is decided actively: a
// second connection, with the same identity and its own client id,
// publishes a marker on its own topic, outside the first connection's; the
// first, subscribed to "#", receiving it proves cross-client reads.
//
// MQTT 5 packets are encoded and decoded with paho.golang's packets package.
// paho.golang speaks only MQTT 5, so MQTT 3.1.1 uses the small encoder in
// codec.go for CONNECT, SUBSCRIBE and PUBLISH and a decoder for CONNACK,
// SUBACK and PUBLISH: a client library would hide the raw return codes that
// are the evidence here.
package mqtt

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hardgate/hardgate/internal/probe/neterr"
	"github.com/hardgate/hardgate/internal/result"
)

// Defaults of a Spec.
const (
	DefaultTopicPrefix = "hardgate/probe"
	DefaultStepTimeout = 5 * time.Second
	DefaultListenFor   = 2 * time.Second
	// maxTopicsKept bounds the topics kept as evidence.
	maxTopicsKept = 10
)

// Spec says what to probe and how.
type Spec struct {
	// URL is mqtt://host:port or mqtts://host:port (tcp://, ssl://, tls:// too).
	URL string
	// Version is 4 (MQTT 3.1.1, the default) or 5.
	Version int
	// Username and Password are credentials the target owner gave, used to
	// subscribe when anonymous clients are refused. Optional. They are sent
	// only over mqtts, on a connection whose TLS handshake verified the
	// broker against RootCAs; over mqtt://, or when verification fails, the
	// credentialed steps do not run and Result.CredentialsWithheld says why.
	Username string
	Password string
	// RootCAs verifies an mqtts broker; nil uses the system roots. The
	// anonymous and made-up access steps run whether or not verification
	// succeeds (a stranger would not verify either); the outcome is
	// recorded in Result.TLSVerifyError.
	RootCAs *x509.CertPool
	// TopicPrefix is where the probe's markers go: each connection that
	// publishes one does so on TopicPrefix/<its client id>, and nowhere else.
	TopicPrefix string
	// AuditID goes into the markers' payload, so that the broker's owner
	// can tell them from telemetry and match them to an audit.
	AuditID string
	// StepTimeout bounds each step as a whole, from a deadline fixed when
	// the step starts: a connection (dial, TLS handshake, CONNECT to
	// CONNACK), a SUBSCRIBE to its SUBACK, a PUBLISH. No packet the broker
	// sends meanwhile extends it.
	StepTimeout time.Duration
	// ListenFor is how long the probe waits for messages after subscribing.
	ListenFor time.Duration
	// PlaintextPort, when positive, is a port checked for a plaintext MQTT
	// listener on the host of an mqtts URL (1883 is the usual one). Zero
	// skips the check; for an mqtt URL the target itself is the plaintext listener.
	PlaintextPort int
}

// Outcome of one probe step.
type Outcome string

// Step outcomes.
const (
	// Accepted: the broker said yes (CONNACK 0, SUBACK granted QoS).
	Accepted Outcome = "accepted"
	// Refused: the broker said no with a return or reason code (any code,
	// whatever it refuses: credentials, protocol version, client id).
	Refused Outcome = "refused"
	// Failed: no decision (unreachable, timeout, malformed answer).
	Failed Outcome = "error"
	// Skipped: the step did not run; Detail says why.
	Skipped Outcome = "skipped"
)

// Step is the result of one CONNECT or SUBSCRIBE.
type Step struct {
	Outcome Outcome
	// Answered is set when the broker sent a CONNACK or SUBACK at all.
	Answered   bool
	ReasonCode int
	Detail     string
	// ErrKind classifies the network error of a Failed step.
	ErrKind  neterr.Kind
	Exchange result.MQTTExchange
}

// Subscription is a SUBSCRIBE step and what arrived on it.
type Subscription struct {
	Step
	// As is "anonymous" or the username the subscription used.
	As string
	// Messages counts PUBLISH packets received on this filter while listening.
	Messages int
	// Foreign counts the messages from other clients (not the probe's marker).
	Foreign int
	// Topics are up to 10 distinct topics received (sorted), the probe's own excluded.
	Topics []string
	// ProbeMessageSeen is set when the probe's marker message came back.
	ProbeMessageSeen bool
}

// Plaintext records whether a plaintext MQTT listener answered.
type Plaintext struct {
	// Checked is false when no plaintext check ran.
	Checked bool
	Address string
	// Outcome: Accepted means an MQTT broker answered in plaintext (any
	// CONNACK), Refused means nothing listens (connection refused), Failed
	// means no decision (timeout, not MQTT).
	Outcome  Outcome
	Detail   string
	Exchange result.MQTTExchange
}

// Result is everything the probe saw.
type Result struct {
	// Broker is the URL without credentials.
	Broker  string
	Version int
	Address string
	// TLS is set for mqtts; TLSVersion and TLSVerifyError describe the handshake.
	TLS            bool
	TLSVersion     string
	TLSVerifyError string
	// Reachable is set when the TCP (and TLS) connection succeeded.
	Reachable bool
	Dial      result.TCPDial
	// Anonymous is a CONNECT without username or password.
	Anonymous Step
	// MadeUpCredentials is a CONNECT with a random username and password.
	MadeUpCredentials Step
	// Credentials is a CONNECT with the spec's credentials (Skipped without
	// them, or when they were withheld).
	Credentials Step
	// CredentialsWithheld says why the spec's credentials were not sent
	// (a plaintext URL, a certificate that did not verify); empty when they
	// were sent or none were given.
	CredentialsWithheld string
	// Wildcard is SUBSCRIBE "#"; Sys is SUBSCRIBE "$SYS/#".
	Wildcard Subscription
	Sys      Subscription
	// CrossClient is the second connection's marker, run when "#" was granted.
	CrossClient CrossClient
	// PlaintextListener is the target itself for mqtt://, or the check of
	// PlaintextPort for mqtts://.
	PlaintextListener Plaintext
	// Exchanges lists every step in order, as evidence.
	Exchanges []result.MQTTExchange
}

// ErrSpec is returned for a spec the probe cannot run.
var ErrSpec = errors.New("invalid mqtt probe spec")

type target struct {
	broker  string
	address string
	host    string
	tls     bool
	version byte
}

func (s *Spec) normalise() (target, error) {
	if s.TopicPrefix == "" {
		s.TopicPrefix = DefaultTopicPrefix
	}
	if strings.ContainsAny(s.TopicPrefix, "#+\x00") {
		return target{}, fmt.Errorf("%w: topic prefix %q contains a wildcard", ErrSpec, s.TopicPrefix)
	}
	s.TopicPrefix = strings.TrimSuffix(s.TopicPrefix, "/")
	if s.StepTimeout <= 0 {
		s.StepTimeout = DefaultStepTimeout
	}
	if s.ListenFor <= 0 {
		s.ListenFor = DefaultListenFor
	}
	switch s.Version {
	case 0, Version311:
		s.Version = Version311
	case Version5:
	default:
		return target{}, fmt.Errorf("%w: version %d (want 4 for MQTT 3.1.1 or 5)", ErrSpec, s.Version)
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		return target{}, fmt.Errorf("%w: url: %w", ErrSpec, err)
	}
	t := target{version: byte(s.Version), host: u.Hostname()}
	switch u.Scheme {
	case "mqtt", "tcp":
	case "mqtts", "ssl", "tls":
		t.tls = true
	default:
		return target{}, fmt.Errorf("%w: url %q: scheme must be mqtt or mqtts", ErrSpec, s.URL)
	}
	if t.host == "" {
		return target{}, fmt.Errorf("%w: url %q has no host", ErrSpec, s.URL)
	}
	port := u.Port()
	if port == "" {
		port = "1883"
		if t.tls {
			port = "8883"
		}
	}
	t.address = net.JoinHostPort(t.host, port)
	t.broker = (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
	return t, nil
}

// Probe runs every step against the broker in spec. It returns an error only
// for an unusable spec; a broker that cannot be reached or does not answer
// yields a Result whose steps are Failed.
func Probe(ctx context.Context, spec Spec, logger *slog.Logger) (*Result, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	t, err := spec.normalise()
	if err != nil {
		return nil, err
	}
	p := &prober{spec: spec, t: t, log: logger.With("broker", t.broker)}
	return p.run(ctx), nil
}

type prober struct {
	spec Spec
	t    target
	log  *slog.Logger
	res  Result
}

func (p *prober) record(step *Step) {
	p.res.Exchanges = append(p.res.Exchanges, step.Exchange)
	p.log.Debug("mqtt probe step", "action", step.Exchange.Action, "topic", step.Exchange.Topic,
		"username", step.Exchange.Username, "outcome", step.Outcome, "code", step.ReasonCode, "detail", step.Detail)
}

func (p *prober) run(ctx context.Context) *Result {
	r := &p.res
	r.Broker, r.Version, r.Address, r.TLS = p.t.broker, int(p.t.version), p.t.address, p.t.tls

	anon, anonStep := p.connect(ctx, p.t.address, p.t.tls, false, nil)
	r.Anonymous = anonStep
	p.record(&r.Anonymous)
	if p.t.tls {
		r.PlaintextListener = p.checkPlaintext(ctx)
	} else {
		r.PlaintextListener = plaintextFrom(p.t.address, anonStep, r.Reachable)
	}

	user := randomToken("hardgate-probe-")
	made, madeStep := p.connect(ctx, p.t.address, p.t.tls, false, &connectRequest{username: user, password: randomToken(""), withUser: true})
	made.close()
	r.MadeUpCredentials = madeStep
	p.record(&r.MadeUpCredentials)

	cred := p.connectWithCredentials(ctx)
	p.record(&r.Credentials)

	sub, as := anon, "anonymous"
	if sub == nil {
		sub, as = cred, p.spec.Username
	} else {
		cred.close()
	}
	r.CrossClient.Outcome, r.CrossClient.Detail = Skipped, `not run: "#" was not granted`
	if sub == nil {
		why := "not tested: no accepted connection (anonymous refused and no credentials given or accepted)"
		switch {
		case anonStep.Outcome == Failed:
			why = "not tested: the broker could not be probed: " + anonStep.Detail
		case r.CredentialsWithheld != "":
			why = "not tested: anonymous clients are refused and the credentials were not sent (" + r.CredentialsWithheld + ")"
		}
		for _, s := range []*Subscription{&r.Wildcard, &r.Sys} {
			s.Outcome, s.Detail = Skipped, why
		}
		r.Wildcard.Exchange = result.MQTTExchange{Broker: p.t.broker, Action: "subscribe", Topic: "#", Outcome: string(Skipped), Error: why}
		r.Sys.Exchange = result.MQTTExchange{Broker: p.t.broker, Action: "subscribe", Topic: "$SYS/#", Outcome: string(Skipped), Error: why}
		p.record(&r.Wildcard.Step)
		p.record(&r.Sys.Step)
		return r
	}
	defer sub.close()
	p.subscribeAndListen(ctx, sub, as)
	return r
}

// plaintextFrom derives the plaintext observation from the main connection of an mqtt:// target.
func plaintextFrom(addr string, s Step, reachable bool) Plaintext {
	pl := Plaintext{Checked: true, Address: addr, Detail: s.Detail, Exchange: s.Exchange}
	switch {
	case s.Answered:
		pl.Outcome = Accepted
		pl.Detail = "a broker answered CONNECT in plaintext (code " + strconv.Itoa(s.ReasonCode) + ")"
	case !reachable && s.ErrKind == neterr.Refused:
		pl.Outcome = Refused
	default:
		pl.Outcome = Failed
	}
	return pl
}

func (p *prober) checkPlaintext(ctx context.Context) Plaintext {
	if p.spec.PlaintextPort <= 0 {
		return Plaintext{Outcome: Skipped, Detail: "no plaintext port given to check beside the TLS listener"}
	}
	addr := net.JoinHostPort(p.t.host, strconv.Itoa(p.spec.PlaintextPort))
	s, step := p.connect(ctx, addr, false, false, nil)
	s.close()
	step.Exchange.Action = "connect-plaintext"
	step.Exchange.Broker = "mqtt://" + addr
	pl := plaintextFrom(addr, step, s != nil || step.Outcome == Refused)
	p.res.Exchanges = append(p.res.Exchanges, pl.Exchange)
	return pl
}
