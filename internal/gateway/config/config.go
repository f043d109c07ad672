// Package config is the one definition of ingestd's configuration: its
// schema, defaults, strict YAML decoding, validation and the list of unsafe
// settings in force. ingestd runs from it and hardgate audits with it, so the
// two can never disagree about what a key means.
//
// The pipeline is Default → Parse(io.Reader) → Validate, as in litestream:
// Parse starts from Default, rejects unknown keys and records the file line
// of every key so that an auditor can cite it as evidence.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// MaxConfigBytes caps how much of a config file is read.
const MaxConfigBytes = 1 << 20

// Auth modes.
const (
	AuthBearer = "bearer"
	AuthMTLS   = "mtls"
	AuthNone   = "none"
)

// Config is ingestd's whole configuration.
type Config struct {
	// Listen holds the listener addresses.
	Listen Listen `yaml:"listen" json:"listen"`
	// TLS configures the HTTPS listener.
	TLS TLS `yaml:"tls" json:"tls"`
	// Auth configures how devices prove who they are.
	Auth Auth `yaml:"auth" json:"auth"`
	// Store configures the durable local queue.
	Store Store `yaml:"store" json:"store"`
	// Limits bounds what one request or one device may cost.
	Limits Limits `yaml:"limits" json:"limits"`
	// Forward configures store-and-forward delivery to an upstream.
	Forward Forward `yaml:"forward" json:"forward"`
	// Guardrails lists the unsafe settings the operator accepts.
	Guardrails Guardrails `yaml:"guardrails" json:"guardrails"`
	// Log configures logging.
	Log Log `yaml:"log" json:"log"`
}

// Listen holds listener addresses; an empty address turns that listener off.
type Listen struct {
	// HTTPS is the TLS listener address, "host:port". Default 127.0.0.1:8443.
	HTTPS string `yaml:"https" json:"https"`
	// HTTP is a plaintext listener address. Empty (the default) means off;
	// setting it is the unsafe setting "plaintext_listener".
	HTTP string `yaml:"http" json:"http"`
}

// TLS configures the HTTPS listener.
type TLS struct {
	// CertFile is the PEM server certificate chain.
	CertFile string `yaml:"cert_file" json:"cert_file"`
	// KeyFile is the PEM private key of CertFile. Must not be readable by others.
	KeyFile string `yaml:"key_file" json:"key_file"`
	// ClientCAFile, when set, requests and verifies client certificates
	// (mTLS device identity) against this PEM bundle.
	ClientCAFile string `yaml:"client_ca_file" json:"client_ca_file"`
	// MinVersion is the lowest TLS version accepted: "1.2" (default) or
	// "1.3". "1.0" and "1.1" are the unsafe setting "tls_below_1_2".
	MinVersion string `yaml:"min_version" json:"min_version"`
}

// Auth configures device authentication.
type Auth struct {
	// Mode is bearer (default), mtls or none. none is the unsafe setting "auth_none".
	Mode string `yaml:"mode" json:"mode"`
	// TokensFile holds the SHA-256 digests of device tokens (see "ingestd token add").
	TokensFile string `yaml:"tokens_file" json:"tokens_file"`
	// CRLFile is a certificate revocation list (PEM or DER) for client
	// certificates, signed by a CA of tls.client_ca_file; reloaded on SIGHUP.
	CRLFile string `yaml:"crl_file" json:"crl_file"`
}

// Store configures the durable queue.
type Store struct {
	// Dir is the directory of the queue database.
	Dir string `yaml:"dir" json:"dir"`
	// MaxBytes bounds the queued payload bytes; when full, ingest answers 507.
	MaxBytes int64 `yaml:"max_bytes" json:"max_bytes"`
	// IdempotencyRetention is how long an Idempotency-Key of a device
	// answers with its first batch (default 24h).
	IdempotencyRetention Duration `yaml:"idempotency_retention" json:"idempotency_retention"`
}

// Limits bounds requests.
type Limits struct {
	// MaxBodyBytes caps one request body, after decompression (413 beyond).
	MaxBodyBytes int64 `yaml:"max_body_bytes" json:"max_body_bytes"`
	// RatePerDevice is the sustained requests per second allowed per device; 0 is unlimited.
	RatePerDevice float64 `yaml:"rate_per_device" json:"rate_per_device"`
	// RateBurst is the burst size of the per-device rate limit.
	RateBurst int `yaml:"rate_burst" json:"rate_burst"`
	// MaxConnections caps the client connections open at once, across
	// every listener; one more is closed at once.
	MaxConnections int `yaml:"max_connections" json:"max_connections"`
}

// Forward configures store-and-forward.
type Forward struct {
	// Kind is the upstream: none (default), http, file, mqtt or nats.
	Kind string `yaml:"kind" json:"kind"`
	// HTTP is the HTTP(S) upstream.
	HTTP ForwardHTTP `yaml:"http" json:"http"`
	// File is the local file sink.
	File ForwardFile `yaml:"file" json:"file"`
	// MQTT is the MQTT broker upstream.
	MQTT ForwardMQTT `yaml:"mqtt" json:"mqtt"`
	// NATS is the NATS upstream.
	NATS ForwardNATS `yaml:"nats" json:"nats"`
	// MaxInFlight bounds batches sent but not yet acknowledged.
	MaxInFlight int `yaml:"max_in_flight" json:"max_in_flight"`
	// BackoffMin is the first retry delay.
	BackoffMin Duration `yaml:"backoff_min" json:"backoff_min"`
	// BackoffMax caps the retry delay.
	BackoffMax Duration `yaml:"backoff_max" json:"backoff_max"`
}

// ForwardHTTP is an HTTP(S) upstream that answers 2xx once it holds a batch.
type ForwardHTTP struct {
	// URL receives each batch as a POST of NDJSON.
	URL string `yaml:"url" json:"url"`
	// CAFile verifies the upstream's certificate; empty uses the system roots.
	CAFile string `yaml:"ca_file" json:"ca_file"`
	// TokenEnv names an environment variable holding a bearer token for the upstream.
	TokenEnv string `yaml:"token_env" json:"token_env"`
	// Timeout bounds one delivery attempt.
	Timeout Duration `yaml:"timeout" json:"timeout"`
}

// ForwardFile appends each batch to a local file (fsynced before the ack).
type ForwardFile struct {
	// Path is the file that receives NDJSON lines.
	Path string `yaml:"path" json:"path"`
}

// ForwardMQTT is an MQTT broker upstream.
type ForwardMQTT struct {
	// URL is mqtt://host:port or mqtts://host:port.
	URL string `yaml:"url" json:"url"`
	// Topic receives the batches; "{device}" is replaced by the device id.
	Topic string `yaml:"topic" json:"topic"`
	// ClientID identifies ingestd at the broker.
	ClientID string `yaml:"client_id" json:"client_id"`
	// Username for the broker.
	Username string `yaml:"username" json:"username"`
	// PasswordEnv names an environment variable holding the broker password.
	PasswordEnv string `yaml:"password_env" json:"password_env"`
	// CAFile verifies the broker's certificate.
	CAFile string `yaml:"ca_file" json:"ca_file"`
	// CertFile and KeyFile are an optional client certificate.
	CertFile string `yaml:"cert_file" json:"cert_file"`
	// KeyFile is the key of CertFile.
	KeyFile string `yaml:"key_file" json:"key_file"`
}

// ForwardNATS is a NATS upstream.
type ForwardNATS struct {
	// URL is nats://host:port or tls://host:port.
	URL string `yaml:"url" json:"url"`
	// Subject receives the batches; "{device}" is replaced by the device id.
	Subject string `yaml:"subject" json:"subject"`
	// JetStream publishes with an acknowledgement from a stream (default
	// true). false publishes on core NATS, which acknowledges nothing: the
	// unsafe setting "forward_unacknowledged".
	JetStream bool `yaml:"jetstream" json:"jetstream"`
	// CAFile verifies the server's certificate.
	CAFile string `yaml:"ca_file" json:"ca_file"`
	// CredsEnv names an environment variable holding a token for the server.
	TokenEnv string `yaml:"token_env" json:"token_env"`
}

// Guardrails names the unsafe settings the operator accepts.
type Guardrails struct {
	// AllowUnsafe lists unsafe setting names (see UnsafeSettings) that may be
	// in force. Any other unsafe setting stops ingestd from starting.
	AllowUnsafe []string `yaml:"allow_unsafe" json:"allow_unsafe"`
	// LegacySilenceUnsafe stops ingestd from announcing unsafe settings (no
	// posture entries, metrics or warnings): the behaviour of a legacy fleet.
	// It is itself the unsafe setting "silence_unsafe".
	LegacySilenceUnsafe bool `yaml:"legacy_silence_unsafe" json:"legacy_silence_unsafe"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level" json:"level"`
	// Format is text (default) or json.
	Format string `yaml:"format" json:"format"`
}

// Default returns the hardened defaults: HTTPS on loopback, bearer auth,
// TLS 1.2 minimum, nothing unsafe.
func Default() Config {
	return Config{
		Listen: Listen{HTTPS: "127.0.0.1:8443"},
		TLS:    TLS{MinVersion: "1.2"},
		Auth:   Auth{Mode: AuthBearer},
		Store:  Store{Dir: "/var/lib/ingestd", MaxBytes: 256 << 20, IdempotencyRetention: Duration(24 * time.Hour)},
		Limits: Limits{MaxBodyBytes: 1 << 20, RatePerDevice: 50, RateBurst: 100, MaxConnections: 512},
		Forward: Forward{
			Kind:        "none",
			MaxInFlight: 16,
			BackoffMin:  Duration(200 * time.Millisecond),
			BackoffMax:  Duration(30 * time.Second),
			HTTP:        ForwardHTTP{Timeout: Duration(10 * time.Second)},
			MQTT:        ForwardMQTT{Topic: "telemetry/{device}", ClientID: "ingestd"},
			NATS:        ForwardNATS{Subject: "telemetry.{device}", JetStream: true},
		},
		Log: Log{Level: "info", Format: "text"},
	}
}

// FieldError is a validation problem with the field and value it concerns.
type FieldError struct {
	Field string
	Value any
	Msg   string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: %s (got %v)", e.Field, e.Msg, quoteIfString(e.Value))
}

func quoteIfString(v any) any {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return v
}

// Validate checks every field and returns all problems joined, each a
// *FieldError naming the field and its value.
func (c *Config) Validate() error {
	var errs []error
	add := func(field string, value any, msg string) {
		errs = append(errs, &FieldError{Field: field, Value: value, Msg: msg})
	}
	if c.Listen.HTTPS == "" && c.Listen.HTTP == "" {
		add("listen", "", "at least one of listen.https and listen.http must be set")
	}
	for _, l := range []struct{ field, addr string }{{"listen.https", c.Listen.HTTPS}, {"listen.http", c.Listen.HTTP}} {
		if l.addr == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(l.addr); err != nil || port == "" {
			add(l.field, l.addr, "must be host:port")
		}
	}
	if c.Listen.HTTPS != "" && c.Listen.HTTP != "" && (c.TLS.CertFile == "" || c.TLS.KeyFile == "") {
		// The plaintext listener alone was meant, most likely: HTTPS is on
		// unless the file turns it off.
		add("listen.https", c.Listen.HTTPS, "is on (by default, at "+Default().Listen.HTTPS+") and needs tls.cert_file and tls.key_file; "+
			`to serve plaintext HTTP only on listen.http, turn HTTPS off with listen.https: ""`)
	} else if c.Listen.HTTPS != "" {
		if c.TLS.CertFile == "" {
			add("tls.cert_file", c.TLS.CertFile, "required when listen.https is set")
		}
		if c.TLS.KeyFile == "" {
			add("tls.key_file", c.TLS.KeyFile, "required when listen.https is set")
		}
	}
	switch c.TLS.MinVersion {
	case "1.0", "1.1", "1.2", "1.3":
	default:
		add("tls.min_version", c.TLS.MinVersion, `must be one of "1.0", "1.1", "1.2", "1.3"`)
	}
	switch c.Auth.Mode {
	case AuthBearer:
		if c.Auth.TokensFile == "" {
			add("auth.tokens_file", c.Auth.TokensFile, "required when auth.mode is bearer")
		}
	case AuthMTLS:
		if c.TLS.ClientCAFile == "" {
			add("tls.client_ca_file", c.TLS.ClientCAFile, "required when auth.mode is mtls")
		}
		if c.Listen.HTTPS == "" {
			add("listen.https", c.Listen.HTTPS, "required when auth.mode is mtls")
		}
	case AuthNone:
	default:
		add("auth.mode", c.Auth.Mode, "must be one of bearer, mtls, none")
	}
	if c.Auth.CRLFile != "" && c.TLS.ClientCAFile == "" {
		add("auth.crl_file", c.Auth.CRLFile, "requires tls.client_ca_file (the CA that signs the list)")
	}
	if c.Store.Dir == "" {
		add("store.dir", c.Store.Dir, "required")
	}
	errs = append(errs, c.validateRanges()...)
	errs = append(errs, c.validateForward()...)
	for i, name := range c.Guardrails.AllowUnsafe {
		if !slices.Contains(UnsafeSettingNames(), name) {
			add(fmt.Sprintf("guardrails.allow_unsafe[%d]", i), name, "unknown unsafe setting; known: "+strings.Join(UnsafeSettingNames(), ", "))
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", c.Log.Level, "must be one of debug, info, warn, error")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		add("log.format", c.Log.Format, "must be text or json")
	}
	return errors.Join(errs...)
}

func (c *Config) validateForward() []error {
	var errs []error
	add := func(field string, value any, msg string) {
		errs = append(errs, &FieldError{Field: field, Value: value, Msg: msg})
	}
	f := c.Forward
	checkURL := func(field, raw string, schemes ...string) {
		if raw == "" {
			add(field, raw, "required when forward.kind is "+f.Kind)
			return
		}
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || !slices.Contains(schemes, u.Scheme) {
			add(field, raw, "must be a URL with scheme "+strings.Join(schemes, " or ")+" and a host")
		}
	}
	switch f.Kind {
	case "", "none":
	case "http":
		checkURL("forward.http.url", f.HTTP.URL, "http", "https")
	case "file":
		if f.File.Path == "" {
			add("forward.file.path", f.File.Path, "required when forward.kind is file")
		}
	case "mqtt":
		checkURL("forward.mqtt.url", f.MQTT.URL, "mqtt", "mqtts", "tcp", "ssl", "tls")
		if f.MQTT.Topic == "" {
			add("forward.mqtt.topic", f.MQTT.Topic, "required when forward.kind is mqtt")
		}
	case "nats":
		checkURL("forward.nats.url", f.NATS.URL, "nats", "tls")
		if f.NATS.Subject == "" {
			add("forward.nats.subject", f.NATS.Subject, "required when forward.kind is nats")
		}
	default:
		add("forward.kind", f.Kind, "must be one of none, http, file, mqtt, nats")
	}
	return errs
}
