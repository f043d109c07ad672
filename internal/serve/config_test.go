package serve

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseAppliesDefaultsAndReadsEveryKey(t *testing.T) {
	c, err := Parse(strings.NewReader(`listen: 127.0.0.1:9555
db: postgres://hardgate@/history?host=/run/postgresql
fleet: fleet.yaml
schedule:
  cron: "0 3 * * *"
  jitter: 30s
  overrides:
    - labels: {site: plant-1}
      every: 1h
concurrency: 8
alerts:
  webhook: {url: "https://alerts.example.net/hook", secret_env: HARDGATE_WEBHOOK_SECRET, ca_file: ca.pem}
auth: {tokens_file: ./serve-tokens}
tls: {cert_file: cert.pem, key_file: key.pem}
shutdown_grace: 5s
log: {level: debug, format: json}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	w := c.Alerts.Webhook
	if c.Listen != "127.0.0.1:9555" || c.Schedule.Cron != "0 3 * * *" || *c.Schedule.Jitter != Duration(30*time.Second) ||
		c.Schedule.Overrides[0].Every != Duration(time.Hour) || c.Concurrency != 8 || w.Timeout != Duration(10*time.Second) ||
		w.MaxBackoff != Duration(10*time.Minute) || c.Log.Format != "json" || c.ShutdownGrace != Duration(5*time.Second) {
		t.Errorf("config %+v webhook %+v", c, w)
	}
	d, err := Parse(strings.NewReader("fleet: f.yaml\nschedule: {every: 6h}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Listen != "127.0.0.1:9480" || d.DB != "./hardgate-history.db" || d.Concurrency != 4 || d.Log.Level != "info" || d.Alerts.Webhook != nil {
		t.Errorf("defaults %+v", d)
	}
}

func TestParseRefusesMalformedFiles(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"an unknown key is an error", "fleet: f\nschedule: {every: 1h}\nlisten_addr: x\n", "listen_addr"},
		{"an unknown nested key is an error", "fleet: f\nschedule: {every: 1h, at: 3}\n", "at"},
		{"a wrong type is an error naming the line", "fleet: f\nconcurrency: many\n", "line 2"},
		{"a bad duration is an error", "fleet: f\nschedule: {every: soon}\n", "soon"},
		{"two documents are an error", "fleet: f\n---\nfleet: g\n", "more than one"},
		{"an empty file is an error", "  \n", "empty"},
		{"a list at the top is an error", "- fleet\n", "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := Parse(strings.NewReader("fleet: " + strings.Repeat("x", MaxConfigBytes))); err == nil {
		t.Error("an oversize file was accepted")
	}
}

func TestValidateNamesTheFieldOfEveryProblem(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		field string
		want  string
	}{
		{"a public listen without TLS refuses to start", "listen: 0.0.0.0:9480\nauth: {tokens_file: t}\n", "listen", "without TLS"},
		{"a public listen without auth refuses to start", "listen: 0.0.0.0:9480\ntls: {cert_file: c, key_file: k}\n", "listen", "without auth"},
		{"an empty host is public too", "listen: :9480\n", "listen", "not loopback"},
		{"listen must be host:port", "listen: localhost\n", "listen", "host:port"},
		{"half a TLS pair is refused", "tls: {cert_file: c}\n", "tls", "both"},
		{"the fleet is required", "fleet: ''\n", "fleet", "required"},
		{"the db is required", "db: ''\n", "db", "required"},
		{"a remote PostgreSQL without verify-full is refused", "db: postgres://hg:pw@db.example.net/h\n", "db", "verify-full"},
		{"a schedule needs every or cron", "schedule: {}\n", "schedule", "set one of"},
		{"a schedule cannot have both", "schedule: {every: 1h, cron: '0 3 * * *'}\n", "schedule", "only one"},
		{"a schedule under a second is refused", "schedule: {every: 10ms}\n", "schedule.every", "at least 1s"},
		{"a bad cron is refused", "schedule: {cron: '61 * * * *'}\n", "schedule.cron", "cron"},
		{"jitter must be shorter than the interval", "schedule: {every: 1m, jitter: 2m}\n", "schedule.jitter", "shorter"},
		{"an override needs labels", "schedule: {every: 1h, overrides: [{every: 5m}]}\n", "schedule.overrides[0].labels", "required"},
		{"an override needs a schedule", "schedule: {every: 1h, overrides: [{labels: {a: b}}]}\n", "schedule.overrides[0]", "set one of"},
		{"concurrency is bounded", "concurrency: 0\n", "concurrency", "1 to 256"},
		{"a plaintext webhook to another host is refused", "alerts: {webhook: {url: 'http://alerts.example.net/h', secret_env: S}}\n", "alerts.webhook.url", "https"},
		{"a webhook URL with credentials is refused", "alerts: {webhook: {url: 'https://u:p@alerts.example.net/h', secret_env: S}}\n", "alerts.webhook.url", "credentials"},
		{"a webhook needs a secret variable", "alerts: {webhook: {url: 'https://alerts.example.net/h'}}\n", "alerts.webhook.secret_env", "required"},
		{"a webhook secret variable must be a name", "alerts: {webhook: {url: 'https://a.example.net/h', secret_env: 'A B'}}\n", "alerts.webhook.secret_env", "required"},
		{"the log level is checked", "log: {level: loud}\n", "log.level", "debug"},
		{"the log format is checked", "log: {format: xml}\n", "log.format", "json"},
		{"the grace cannot be negative", "shutdown_grace: -1s\n", "shutdown_grace", "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader("fleet: f.yaml\nschedule: {every: 6h}\n" + tt.yaml))
			if err != nil {
				// Later keys override: YAML maps with a repeated key are
				// errors, so the table's keys replace the base ones.
				c, err = Parse(strings.NewReader(mergeBase(tt.yaml)))
				if err != nil {
					t.Fatal(err)
				}
			}
			err = c.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FieldError", err)
			}
			found := false
			for _, e := range unwrapAll(err) {
				if errors.As(e, &fe) && fe.Field == tt.field && strings.Contains(fe.Error(), tt.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("err = %v, want field %s saying %q", err, tt.field, tt.want)
			}
			if strings.Contains(err.Error(), ":pw@") {
				t.Errorf("the error shows a password: %v", err)
			}
		})
	}
}

// mergeBase adds the base keys the table's YAML does not set.
func mergeBase(yaml string) string {
	out := yaml
	if !strings.HasPrefix(yaml, "fleet:") && !strings.Contains(yaml, "\nfleet:") {
		out += "fleet: f.yaml\n"
	}
	if !strings.Contains(yaml, "schedule:") {
		out += "schedule: {every: 6h}\n"
	}
	return out
}

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestLoadResolvesPathsAgainstTheConfigFolder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "serve.yaml")
	os.WriteFile(path, []byte("fleet: fleet.yaml\ndb: h.db\nschedule: {every: 1h}\nauth: {tokens_file: /etc/hg/tokens}\n"), 0o600)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Fleet != filepath.Join(dir, "fleet.yaml") || c.DB != filepath.Join(dir, "h.db") || c.Auth.TokensFile != "/etc/hg/tokens" {
		t.Errorf("paths %s %s %s", c.Fleet, c.DB, c.Auth.TokensFile)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("fleet: f.yaml\nschedule: {every: 6h}\n"))
	f.Add([]byte("listen: 0.0.0.0:1\nschedule: {cron: '0 3 * * *', overrides: [{labels: {a: b}, every: 1s}]}\nalerts: {webhook: {url: x}}\n"))
	f.Add([]byte("db: postgres://a@b/c?sslmode=verify-full\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		// Validate never panics, and a valid config resolves a schedule
		// for any target.
		if c.Validate() == nil {
			_ = c.Schedule.scheduleFor(Target{Name: "x", Labels: map[string]string{"a": "b"}})
		}
	})
}
