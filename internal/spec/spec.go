// Package spec is the target spec: what one audit looks at. It follows the
// house config pipeline: Default, then Parse (strict decode from an
// io.Reader, derived defaults filled by Complete), then Validate, which
// checks every field, names the field and the value, and neither mutates
// the spec nor touches the file system or the environment. What a spec
// refers to outside itself (the token in an environment variable, the CA
// files, the gateway config file) is resolved by package collect, in a
// separate step. Load is the one function that reads a spec file.
package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hardgate/hardgate/internal/gateway/config"
)

// MaxBytes caps a target spec file.
const MaxBytes = 1 << 20

// Gateway config kinds hardgate reads.
const (
	KindIngestd   = "ingestd"
	KindMosquitto = "mosquitto"
)

// GatewayKinds lists the config kinds hardgate reads.
var GatewayKinds = []string{KindIngestd, KindMosquitto}

// Target is what to audit: the target spec, from YAML or from flags.
type Target struct {
	// Name identifies the gateway in reports and deltas.
	Name string `yaml:"name" json:"name"`
	// Ingest describes the HTTP ingest path.
	Ingest Ingest `yaml:"ingest" json:"ingest"`
	// Gateway names the gateway's config file.
	Gateway Gateway `yaml:"gateway" json:"gateway"`
	// Timeouts bound the audit.
	Timeouts Timeouts `yaml:"timeouts" json:"timeouts"`
	// TLS names extra TLS endpoints and tunes the transport_tls controls
	// (the https ingest URLs are always assessed).
	TLS TLS `yaml:"tls" json:"tls"`
	// MQTT names the MQTT brokers to probe (the mqtt_broker controls).
	MQTT MQTT `yaml:"mqtt" json:"mqtt"`
}

// Ingest is the HTTP ingest path of the target.
type Ingest struct {
	// URLs are the ingest endpoints (http:// or https://), e.g. https://127.0.0.1:8443/v1/ingest.
	URLs []string `yaml:"urls" json:"urls"`
	// HealthURL is the health endpoint; default /healthz on the first URL's origin.
	HealthURL string `yaml:"health_url" json:"health_url"`
	// CAFile is the trust anchor (PEM) to verify TLS with; empty uses the system roots.
	CAFile string `yaml:"ca_file" json:"ca_file"`
	// TokenEnv names an environment variable holding a valid device token,
	// for the positive control and the wrong-token check.
	TokenEnv string `yaml:"token_env" json:"token_env"`
}

// Gateway names the gateway config to read.
type Gateway struct {
	// ConfigFile is the path of the gateway's config file.
	ConfigFile string `yaml:"config_file" json:"config_file"`
	// Kind is the config format: ingestd (the default) or mosquitto.
	Kind string `yaml:"kind" json:"kind"`
}

// Timeouts bound the probes.
type Timeouts struct {
	// Request bounds one probe request (default 5s).
	Request Duration `yaml:"request" json:"request"`
	// Audit bounds the whole audit (default 60s).
	Audit Duration `yaml:"audit" json:"audit"`
}

// TLS names extra TLS endpoints and tunes the transport_tls assessment.
// The https ingest URLs are always assessed.
type TLS struct {
	// Addresses are extra TLS endpoints as host:port (e.g. an MQTT over TLS
	// listener, 127.0.0.1:8883).
	Addresses []string `yaml:"addresses" json:"addresses,omitempty"`
	// ExpiryWarningDays is how many days before expiry a certificate is
	// reported as expiring soon (0: the catalog's window, 30 days).
	ExpiryWarningDays int `yaml:"expiry_warning_days" json:"expiry_warning_days,omitempty"`
}

// MQTT names the MQTT brokers to probe.
type MQTT struct {
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
	// TopicPrefix is where the probe publishes its marker messages, each on
	// TopicPrefix/<client id> (default hardgate/probe); it publishes nowhere else.
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

// Duration is a time.Duration written as "5s"; the same type as in
// ingestd's config, so both files read durations alike.
type Duration = config.Duration

// FieldError is a spec problem naming the field and its value: the same
// type as ingestd's config errors, so both read alike.
type FieldError = config.FieldError

// DefaultTimeouts are used for unset timeouts.
var DefaultTimeouts = Timeouts{Request: Duration(5 * time.Second), Audit: Duration(60 * time.Second)}

// Default returns a spec with every default that does not depend on other
// fields; Complete fills the rest.
func Default() Target {
	return Target{Timeouts: DefaultTimeouts}
}

// Parse decodes a target spec strictly (unknown keys, a second document and
// oversize input are errors) over Default, then Complete fills the derived
// defaults. Relative paths stay as written; ResolvePaths anchors them. It
// does not validate: call Validate.
func Parse(r io.Reader) (*Target, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read target spec: %w", err)
	}
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("target spec is larger than %d bytes", MaxBytes)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("target spec is empty")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	t := Default()
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("parse target spec: %w", config.ExplainYAML(data, &t, err))
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("parse target spec: more than one YAML document")
	}
	t.Complete()
	return &t, nil
}

// Load reads the spec file at path: Parse, with relative paths resolved
// against the file's folder. It does not validate: callers may still
// override fields (the CLI's --timeout), then call Validate.
func Load(path string) (*Target, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open target spec: %w", err)
	}
	defer f.Close()
	t, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t.ResolvePaths(filepath.Dir(path))
	return t, nil
}

// ResolvePaths makes the relative file names of the spec relative to
// baseDir (the spec file's folder). Absolute names and an empty baseDir
// leave them as they are.
func (t *Target) ResolvePaths(baseDir string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) || baseDir == "" {
			return p
		}
		return filepath.Join(baseDir, p)
	}
	t.Ingest.CAFile = abs(t.Ingest.CAFile)
	t.Gateway.ConfigFile = abs(t.Gateway.ConfigFile)
	t.MQTT.CAFile = abs(t.MQTT.CAFile)
}

// Complete fills the defaults: unset timeouts, the gateway kind (ingestd)
// when a config file is named, and the name. It is idempotent; Parse calls
// it, and so must a caller that builds a Target by hand (from flags).
func (t *Target) Complete() {
	if t.Timeouts.Request == 0 {
		t.Timeouts.Request = DefaultTimeouts.Request
	}
	if t.Timeouts.Audit == 0 {
		t.Timeouts.Audit = DefaultTimeouts.Audit
	}
	if t.Gateway.ConfigFile != "" && t.Gateway.Kind == "" {
		t.Gateway.Kind = KindIngestd
	}
	if t.Name == "" {
		t.Name = defaultName(t)
	}
}

// defaultName is the host without its port: moving ingest from
// http://host:8080 to https://host:8443 is the hardening a delta measures,
// so both audits must name the same target.
func defaultName(t *Target) string {
	for _, urls := range [][]string{t.Ingest.URLs, t.MQTT.URLs} {
		if len(urls) > 0 {
			if u, err := url.Parse(urls[0]); err == nil && u.Hostname() != "" {
				return u.Hostname()
			}
		}
	}
	if t.Gateway.ConfigFile != "" {
		return filepath.Base(t.Gateway.ConfigFile)
	}
	return ""
}

// IsMQTTS reports whether a broker URL scheme means MQTT over TLS.
func IsMQTTS(scheme string) bool { return scheme == "mqtts" || scheme == "ssl" || scheme == "tls" }
