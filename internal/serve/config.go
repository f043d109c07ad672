package serve

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/store"
)

// MaxConfigBytes caps a serve config file.
const MaxConfigBytes = 1 << 20

// Duration is a time.Duration written as "6h": the type of every duration
// in hardgate's and ingestd's files.
type Duration = config.Duration

// FieldError is a config problem naming the field and its value.
type FieldError = config.FieldError

// Config is hardgate serve's configuration.
type Config struct {
	// Listen is the dashboard's address, host:port. Default 127.0.0.1:9480.
	// An address that is not loopback needs tls and auth.
	Listen string `yaml:"listen"`
	// DB is the history: a SQLite file (default ./hardgate-history.db) or a
	// postgres:// URL (sslmode=verify-full for a server on another host).
	DB string `yaml:"db"`
	// Fleet is the fleet file (hardgate audit --fleet's format). Required.
	Fleet string `yaml:"fleet"`
	// Schedule says when each target is audited.
	Schedule Schedule `yaml:"schedule"`
	// Concurrency bounds the audits running at once. Default 4.
	Concurrency int `yaml:"concurrency"`
	// Alerts says where drift alerts go.
	Alerts Alerts `yaml:"alerts"`
	// Auth holds the dashboard's tokens. Required unless listen is loopback.
	Auth Auth `yaml:"auth"`
	// TLS serves the dashboard over HTTPS. Required unless listen is loopback.
	TLS TLS `yaml:"tls"`
	// ShutdownGrace is how long running audits may finish after a stop
	// signal before they are cancelled (and marked so). Default 30s.
	ShutdownGrace Duration `yaml:"shutdown_grace"`
	// Log configures logging.
	Log Log `yaml:"log"`
	// Waivers is a waivers file (docs/waivers.md) applied to every result
	// before it is stored and judged; read again at the next audit after
	// it changes. Optional.
	Waivers string `yaml:"waivers"`
	// WaiverMaxDays refuses a waiver expiring more than this many days
	// ahead. Default 365.
	WaiverMaxDays int `yaml:"waiver_max_days"`
	// Executor sends the audits of targets labelled site: to that site's
	// agents over NATS JetStream (docs/agents.md). Optional.
	Executor ExecutorConfig `yaml:"executor"`
}

// Schedule is when targets are audited: every interval, or on a cron
// schedule, with per-label overrides.
type Schedule struct {
	// Every is the interval between two audits of a target, e.g. 6h.
	Every Duration `yaml:"every"`
	// Cron is a standard five-field cron expression (minute hour day month
	// weekday, server local time), e.g. "0 3 * * *". Exactly one of every
	// and cron is set.
	Cron string `yaml:"cron"`
	// Jitter is the largest random delay added to each run, so a fleet does
	// not start all at once. Default: a tenth of the interval, at most 5m.
	Jitter *Duration `yaml:"jitter"`
	// Overrides give targets whose labels match another schedule; the first
	// matching override wins.
	Overrides []Override `yaml:"overrides"`
}

// Override is the schedule of the targets whose labels match.
type Override struct {
	// Labels must all be present on a target with these values.
	Labels map[string]string `yaml:"labels"`
	// Every is the interval for the matching targets.
	Every Duration `yaml:"every"`
	// Cron is the cron expression for the matching targets.
	Cron string `yaml:"cron"`
}

// Alerts configures drift alerts.
type Alerts struct {
	// Webhook receives each alert as a signed JSON POST; unset sends none.
	Webhook *Webhook `yaml:"webhook"`
}

// Webhook is an HTTP endpoint for alerts.
type Webhook struct {
	// URL is https:// (http:// only on loopback).
	URL string `yaml:"url"`
	// SecretEnv names the environment variable holding the HMAC-SHA256
	// signing secret (at least 16 bytes). Required.
	SecretEnv string `yaml:"secret_env"`
	// CAFile verifies the receiver's certificate; empty uses the system roots.
	CAFile string `yaml:"ca_file"`
	// Timeout bounds one delivery attempt. Default 10s.
	Timeout Duration `yaml:"timeout"`
	// MaxBackoff caps the delay between retries. Default 10m.
	MaxBackoff Duration `yaml:"max_backoff"`
}

// Auth holds who may use the dashboard.
type Auth struct {
	// TokensFile holds the dashboard tokens, hashed, with their role
	// (viewer or operator); hardgate serve token add writes it.
	TokensFile string `yaml:"tokens_file"`
}

// TLS is the dashboard's certificate.
type TLS struct {
	// CertFile is the PEM certificate chain.
	CertFile string `yaml:"cert_file"`
	// KeyFile is its PEM private key.
	KeyFile string `yaml:"key_file"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
	// Format is text (default) or json.
	Format string `yaml:"format"`
}

// Default returns the defaults: loopback, SQLite beside the working
// directory, every 6h, 4 audits at once.
func Default() Config {
	return Config{
		Listen:        "127.0.0.1:9480",
		DB:            "./hardgate-history.db",
		Concurrency:   4,
		ShutdownGrace: Duration(30 * time.Second),
		Log:           Log{Level: "info", Format: "text"},
		WaiverMaxDays: DefaultWaiverMaxDays,
	}
}

// Parse decodes a serve config strictly (unknown keys, a second document
// and oversize input are errors) over Default. It does not validate.
func Parse(r io.Reader) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read serve config: %w", err)
	}
	if len(data) > MaxConfigBytes {
		return nil, fmt.Errorf("serve config is larger than %d bytes", MaxConfigBytes)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("serve config is empty (it needs at least fleet: and schedule:)")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	c := Default()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("parse serve config: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("parse serve config: more than one YAML document")
	}
	c.fillDefaults()
	return &c, nil
}

// fillDefaults sets the defaults that depend on other fields.
func (c *Config) fillDefaults() {
	if c.Alerts.Webhook != nil {
		if c.Alerts.Webhook.Timeout == 0 {
			c.Alerts.Webhook.Timeout = Duration(10 * time.Second)
		}
		if c.Alerts.Webhook.MaxBackoff == 0 {
			c.Alerts.Webhook.MaxBackoff = Duration(10 * time.Minute)
		}
	}
}

// Load reads the config file at path: Parse, with relative file names
// resolved against the file's folder. It does not validate.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open serve config: %w", err)
	}
	defer f.Close()
	c, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.ResolvePaths(filepath.Dir(path))
	return c, nil
}

// ResolvePaths anchors the relative file names of the config (a SQLite
// db, the fleet, the tokens, TLS and CA files) at baseDir.
func (c *Config) ResolvePaths(baseDir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) && baseDir != "" {
			*p = filepath.Join(baseDir, *p)
		}
	}
	if !store.IsPostgres(c.DB) {
		abs(&c.DB)
	}
	abs(&c.Fleet)
	abs(&c.Auth.TokensFile)
	abs(&c.Waivers)
	abs(&c.TLS.CertFile)
	abs(&c.TLS.KeyFile)
	if c.Alerts.Webhook != nil {
		abs(&c.Alerts.Webhook.CAFile)
	}
	if n := c.Executor.NATS; n != nil {
		abs(&n.CredsFile)
		abs(&n.CAFile)
	}
}

// envName is the shape of an environment variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate checks every field and returns all problems joined, each a
// *FieldError naming the field and its value. It reads no file and no
// environment variable.
func (c *Config) Validate() error {
	v := &validator{}
	c.validateListen(v)
	if c.DB == "" {
		v.add("db", c.DB, "required: a SQLite file or a postgres:// URL")
	} else if store.IsPostgres(c.DB) {
		if err := store.CheckPostgresURL(c.DB); err != nil {
			v.add("db", redacted(c.DB), err.Error())
		}
	}
	if c.Fleet == "" {
		v.add("fleet", c.Fleet, "required: the fleet file to audit")
	}
	c.Schedule.validate(v)
	if c.Concurrency < 1 || c.Concurrency > 256 {
		v.add("concurrency", c.Concurrency, "must be 1 to 256")
	}
	if w := c.Alerts.Webhook; w != nil {
		w.validate(v)
	}
	if c.ShutdownGrace < 0 {
		v.add("shutdown_grace", c.ShutdownGrace, "must not be negative")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		v.add("log.level", c.Log.Level, "must be one of debug, info, warn, error")
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		v.add("log.format", c.Log.Format, "must be text or json")
	}
	c.validateWaivers(v)
	c.Executor.validate(v)
	return errors.Join(v.errs...)
}

type validator struct{ errs []error }

func (v *validator) add(field string, value any, msg string) {
	v.errs = append(v.errs, &FieldError{Field: field, Value: value, Msg: msg})
}

// validateListen is the guardrail: a dashboard reachable from other hosts
// needs both TLS and tokens, as ingestd refuses a public plaintext listener.
func (c *Config) validateListen(v *validator) {
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		v.add("listen", c.Listen, "must be host:port, e.g. 127.0.0.1:9480")
		return
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		v.add("tls", c.TLS.CertFile+" "+c.TLS.KeyFile, "set both tls.cert_file and tls.key_file, or neither")
	}
	if config.IsLoopback(c.Listen) {
		return
	}
	if c.TLS.CertFile == "" || c.TLS.KeyFile == "" {
		v.add("listen", c.Listen, "is not loopback: refusing to serve the dashboard to the network without TLS (set tls.cert_file and tls.key_file, or listen on 127.0.0.1)")
	}
	if c.Auth.TokensFile == "" {
		v.add("listen", c.Listen, "is not loopback: refusing to serve the dashboard to the network without auth (set auth.tokens_file, or listen on 127.0.0.1)")
	}
}

func (s *Schedule) validate(v *validator) {
	validateWhen(v, "schedule", s.Every, s.Cron)
	if s.Jitter != nil && (*s.Jitter < 0 || (s.Every > 0 && *s.Jitter >= s.Every)) {
		v.add("schedule.jitter", *s.Jitter, "must be at least 0 and shorter than schedule.every")
	}
	for i, o := range s.Overrides {
		field := fmt.Sprintf("schedule.overrides[%d]", i)
		if len(o.Labels) == 0 {
			v.add(field+".labels", "", "required: the labels a target must carry")
		}
		validateWhen(v, field, o.Every, o.Cron)
	}
}

// validateWhen checks that exactly one of every and cron is set, and well.
func validateWhen(v *validator, field string, every Duration, expr string) {
	switch {
	case every == 0 && expr == "":
		v.add(field, "", "set one of every (e.g. 6h) and cron (e.g. \"0 3 * * *\")")
	case every != 0 && expr != "":
		v.add(field, expr, "set only one of every and cron")
	case every != 0 && every < Duration(time.Second):
		v.add(field+".every", every, "must be at least 1s")
	case expr != "":
		if _, err := cron.ParseStandard(expr); err != nil {
			v.add(field+".cron", expr, "is not a five-field cron expression: "+err.Error())
		}
	}
}

func (w *Webhook) validate(v *validator) {
	u, err := url.Parse(w.URL)
	switch {
	case w.URL == "" || err != nil || u.Host == "":
		v.add("alerts.webhook.url", w.URL, "must be an absolute https:// URL")
	case u.Scheme == "http" && !config.IsLoopback(hostPort(u)):
		v.add("alerts.webhook.url", w.URL, "must be https:// (http:// only to a loopback receiver)")
	case u.Scheme != "https" && u.Scheme != "http":
		v.add("alerts.webhook.url", w.URL, "must be an https:// URL")
	case u.User != nil:
		v.add("alerts.webhook.url", redacted(w.URL), "must not hold credentials; alerts are signed with the secret of secret_env")
	}
	if !envName.MatchString(w.SecretEnv) {
		v.add("alerts.webhook.secret_env", w.SecretEnv, "required: the environment variable holding the signing secret")
	}
	if w.Timeout <= 0 {
		v.add("alerts.webhook.timeout", w.Timeout, "must be positive")
	}
	if w.MaxBackoff < Duration(time.Second) {
		v.add("alerts.webhook.max_backoff", w.MaxBackoff, "must be at least 1s")
	}
}

// hostPort is the URL's host with a port, for the loopback check.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// redacted hides a URL's password.
func redacted(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}
