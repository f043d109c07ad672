package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hardgate/hardgate/internal/gateway/config"
)

// MaxTargetBytes caps a target spec file.
const MaxTargetBytes = 1 << 20

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
	TLS TLSSpec `yaml:"tls" json:"tls"`
	// MQTT names the MQTT brokers to probe (the mqtt_broker controls).
	MQTT MQTTSpec `yaml:"mqtt" json:"mqtt"`
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
	// Kind is the config format: ingestd.
	Kind string `yaml:"kind" json:"kind"`
}

// Timeouts bound the probes.
type Timeouts struct {
	// Request bounds one probe request (default 5s).
	Request Duration `yaml:"request" json:"request"`
	// Audit bounds the whole audit (default 60s).
	Audit Duration `yaml:"audit" json:"audit"`
}

// Duration is a time.Duration written as "5s"; the same type as in
// ingestd's config, so both files read durations alike.
type Duration = config.Duration

// GatewayKinds lists the config kinds hardgate reads.
var GatewayKinds = []string{"ingestd", MosquittoKind}

// DefaultTimeouts are used for unset timeouts.
var DefaultTimeouts = Timeouts{Request: Duration(5 * time.Second), Audit: Duration(60 * time.Second)}

// ParseTarget decodes a target spec strictly (unknown keys are errors) and
// resolves relative paths against baseDir. It does not validate; call Validate.
func ParseTarget(r io.Reader, baseDir string) (*Target, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxTargetBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read target spec: %w", err)
	}
	if len(data) > MaxTargetBytes {
		return nil, fmt.Errorf("target spec is larger than %d bytes", MaxTargetBytes)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("target spec is empty")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var t Target
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("parse target spec: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("parse target spec: more than one YAML document")
	}
	t.resolve(baseDir)
	return &t, nil
}

// LoadTarget reads, parses and validates the target spec at path.
func LoadTarget(path string) (*Target, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open target spec: %w", err)
	}
	defer f.Close()
	t, err := ParseTarget(f, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("%s: invalid target spec:\n%w", path, err)
	}
	return t, nil
}

func (t *Target) resolve(baseDir string) {
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

// FieldError is a target spec problem naming the field and its value.
type FieldError struct {
	Field string
	Value string
	Msg   string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s (got %q)", e.Field, e.Msg, e.Value) }

// ApplyDefaults fills unset timeouts, the name and the gateway kind.
func (t *Target) ApplyDefaults() {
	if t.Timeouts.Request == 0 {
		t.Timeouts.Request = DefaultTimeouts.Request
	}
	if t.Timeouts.Audit == 0 {
		t.Timeouts.Audit = DefaultTimeouts.Audit
	}
	if t.Gateway.ConfigFile != "" && t.Gateway.Kind == "" {
		t.Gateway.Kind = "ingestd"
	}
	// The default name is the host without its port: moving ingest from
	// http://host:8080 to https://host:8443 is the hardening a delta
	// measures, so both audits must name the same target.
	if t.Name == "" && len(t.Ingest.URLs) > 0 {
		if u, err := url.Parse(t.Ingest.URLs[0]); err == nil {
			t.Name = u.Hostname()
		}
	}
	if t.Name == "" && len(t.MQTT.URLs) > 0 {
		if u, err := url.Parse(t.MQTT.URLs[0]); err == nil {
			t.Name = u.Hostname()
		}
	}
	if t.Name == "" && t.Gateway.ConfigFile != "" {
		t.Name = filepath.Base(t.Gateway.ConfigFile)
	}
}

// Validate applies defaults and checks every field; the errors name the
// field and value.
func (t *Target) Validate() error {
	t.ApplyDefaults()
	var errs []error
	add := func(field, value, msg string) {
		errs = append(errs, &FieldError{Field: field, Value: value, Msg: msg})
	}
	if len(t.Ingest.URLs) == 0 && t.Gateway.ConfigFile == "" && len(t.MQTT.URLs) == 0 && len(t.TLS.Addresses) == 0 {
		add("ingest.urls", "", "name at least one ingest URL, TLS address, MQTT broker URL or gateway config file")
	}
	for i, raw := range t.Ingest.URLs {
		checkURL(fmt.Sprintf("ingest.urls[%d]", i), raw, add)
	}
	if t.Ingest.HealthURL != "" {
		checkURL("ingest.health_url", t.Ingest.HealthURL, add)
	}
	if t.Ingest.CAFile != "" {
		if _, err := os.Stat(t.Ingest.CAFile); err != nil {
			add("ingest.ca_file", t.Ingest.CAFile, "cannot be read: "+errText(err))
		}
	}
	if t.Ingest.TokenEnv != "" {
		if strings.ContainsAny(t.Ingest.TokenEnv, "= \t") {
			add("ingest.token_env", t.Ingest.TokenEnv, "must be an environment variable name")
		} else if os.Getenv(t.Ingest.TokenEnv) == "" {
			add("ingest.token_env", t.Ingest.TokenEnv, "the environment variable is unset or empty")
		}
	}
	if t.Gateway.ConfigFile != "" {
		if _, err := os.Stat(t.Gateway.ConfigFile); err != nil {
			add("gateway.config_file", t.Gateway.ConfigFile, "cannot be read: "+errText(err))
		}
	}
	if t.Gateway.Kind != "" && !slices.Contains(GatewayKinds, t.Gateway.Kind) {
		add("gateway.kind", t.Gateway.Kind, "must be one of "+strings.Join(GatewayKinds, ", "))
	}
	if t.Gateway.Kind != "" && t.Gateway.ConfigFile == "" {
		add("gateway.config_file", "", "required when gateway.kind is set")
	}
	t.TLS.validate(add)
	t.MQTT.validate(add)
	if t.Timeouts.Request <= 0 {
		add("timeouts.request", time.Duration(t.Timeouts.Request).String(), "must be positive")
	}
	if t.Timeouts.Audit < t.Timeouts.Request {
		add("timeouts.audit", time.Duration(t.Timeouts.Audit).String(), "must be at least timeouts.request")
	}
	return errors.Join(errs...)
}

func checkURL(field, raw string, add func(field, value, msg string)) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		add(field, raw, "is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		add(field, raw, "scheme must be http or https")
	case u.Hostname() == "":
		add(field, raw, "has no host")
	case u.User != nil:
		add(field, raw, "must not carry credentials; use ingest.token_env")
	}
}

func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
