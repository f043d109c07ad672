package config

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestInvalidConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid-*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(data), "\n")
			want, ok := strings.CutPrefix(first, "# want: ")
			if !ok {
				t.Fatalf("%s: first line must be \"# want: <error substring>\"", file)
			}
			cfg, err := Parse(bytes.NewReader(data))
			if err == nil {
				err = cfg.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, want)
			}
			if goName.MatchString(err.Error()) {
				t.Fatalf("error = %v\nit names a Go type; say it in the file's terms", err)
			}
		})
	}
}

// goName matches what a YAML error must never show a user: Go type names
// (config.Auth, []string, struct {...}) and YAML tags (!!str).
var goName = regexp.MustCompile(`\b(config|spec)\.[A-Z]|\[\]string|struct \{|!!(str|int|map|seq|bool)|not found in type|cannot unmarshal`)

func TestDefaultIsHardened(t *testing.T) {
	cfg := Default()
	cfg.TLS.CertFile, cfg.TLS.KeyFile, cfg.Auth.TokensFile = "c.pem", "k.pem", "tokens"
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults plus files do not validate: %v", err)
	}
	if got := cfg.UnsafeSettings(nil); len(got) != 0 {
		t.Fatalf("defaults have unsafe settings: %+v", got)
	}
	if cfg.Listen.HTTPS != "127.0.0.1:8443" || cfg.Listen.HTTP != "" || cfg.Auth.Mode != AuthBearer || cfg.TLS.MinVersion != "1.2" {
		t.Fatalf("unexpected defaults: %+v", cfg)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		input string
		check func(t *testing.T, c Config, p Positions)
	}{
		{"an empty file is the defaults", "", func(t *testing.T, c Config, p Positions) {
			if c.Listen.HTTPS != Default().Listen.HTTPS || len(p) != 0 {
				t.Errorf("got %+v %v", c.Listen, p)
			}
		}},
		{"keys keep their line numbers", "listen:\n  http: 127.0.0.1:8080\nauth:\n  mode: none\n", func(t *testing.T, c Config, p Positions) {
			if p.Line("listen.http") != 2 || p.Line("auth.mode") != 4 || p.Line("tls.cert_file") != 0 {
				t.Errorf("positions %v", p)
			}
		}},
		{"unset keys keep their defaults", "store:\n  dir: /tmp/q\n", func(t *testing.T, c Config, p Positions) {
			if c.Store.Dir != "/tmp/q" || c.Store.MaxBytes != Default().Store.MaxBytes {
				t.Errorf("store %+v", c.Store)
			}
		}},
		{"durations parse", "forward:\n  backoff_min: 50ms\n  backoff_max: 2m\n", func(t *testing.T, c Config, p Positions) {
			if c.Forward.BackoffMin != Duration(50e6) || c.Forward.BackoffMax != Duration(120e9) {
				t.Errorf("forward %+v", c.Forward)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, p, err := ParseWithPositions(strings.NewReader(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c, p)
		})
	}
}

func TestValidateNamesEveryProblem(t *testing.T) {
	c := Default()
	c.Auth.Mode = "magic"
	c.Store.Dir = ""
	c.Log.Level = "loud"
	err := c.Validate()
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("%v is not a *FieldError", e)
		}
		fields = append(fields, fe.Field)
	}
	for _, want := range []string{"tls.cert_file", "tls.key_file", "auth.mode", "store.dir", "log.level"} {
		if !strings.Contains(strings.Join(fields, " "), want) {
			t.Errorf("no problem named %s in %v", want, fields)
		}
	}
}

func TestUnsafeSettingsAndGuardrails(t *testing.T) {
	mode := func(perm fs.FileMode) FileModeFunc {
		return func(string) (fs.FileMode, error) { return perm, nil }
	}
	tests := []struct {
		name    string
		mutate  func(*Config)
		mode    FileModeFunc
		want    []string
		refused []string
	}{
		{"the hardened config has none", func(*Config) {}, mode(0o600), nil, nil},
		{"the legacy state lists three, all allowed", func(c *Config) {
			c.Listen.HTTPS, c.Listen.HTTP, c.Auth.Mode = "", "127.0.0.1:8080", AuthNone
			c.Guardrails.LegacySilenceUnsafe = true
			c.Guardrails.AllowUnsafe = []string{UnsafePlaintextListener, UnsafeAuthNone, UnsafeSilenceAnnouncement}
		}, nil, []string{UnsafeAuthNone, UnsafePlaintextListener, UnsafeSilenceAnnouncement}, nil},
		{"a plaintext listener on every interface is two settings", func(c *Config) { c.Listen.HTTP = ":8080" }, nil,
			[]string{UnsafeNonLoopbackPlain, UnsafePlaintextListener}, []string{UnsafeNonLoopbackPlain, UnsafePlaintextListener}},
		{"readable secret files are one setting per file", func(*Config) {}, mode(0o644),
			[]string{UnsafeSecretFileReadable, UnsafeSecretFileReadable}, []string{UnsafeSecretFileReadable}},
		{"TLS 1.1 is unsafe", func(c *Config) { c.TLS.MinVersion = "1.1" }, nil, []string{UnsafeTLSBelow12}, []string{UnsafeTLSBelow12}},
		{"NATS forwarding defaults to JetStream and is safe", func(c *Config) { c.Forward.Kind, c.Forward.NATS.URL = "nats", "nats://127.0.0.1:4222" }, nil, nil, nil},
		{"core NATS forwarding is unacknowledged and refused", func(c *Config) {
			c.Forward.Kind, c.Forward.NATS.URL, c.Forward.NATS.JetStream = "nats", "nats://127.0.0.1:4222", false
		}, nil, []string{UnsafeForwardUnacked}, []string{UnsafeForwardUnacked}},
		{"plain HTTP to a loopback upstream is safe", func(c *Config) { c.Forward.Kind, c.Forward.HTTP.URL = "http", "http://127.0.0.1:9000/in" }, nil, nil, nil},
		{"HTTPS to a remote upstream is safe", func(c *Config) { c.Forward.Kind, c.Forward.HTTP.URL = "http", "https://upstream.example/in" }, nil, nil, nil},
		{"plain HTTP to a remote upstream is plaintext_upstream", func(c *Config) { c.Forward.Kind, c.Forward.HTTP.URL = "http", "http://upstream.example/in" }, nil,
			[]string{UnsafePlaintextUpstream}, []string{UnsafePlaintextUpstream}},
		{"mqtt:// to a remote broker is plaintext_upstream", func(c *Config) { c.Forward.Kind, c.Forward.MQTT.URL = "mqtt", "mqtt://192.0.2.7:1883" }, nil,
			[]string{UnsafePlaintextUpstream}, []string{UnsafePlaintextUpstream}},
		{"tcp:// to a remote broker is plaintext_upstream", func(c *Config) { c.Forward.Kind, c.Forward.MQTT.URL = "mqtt", "tcp://broker.example:1883" }, nil,
			[]string{UnsafePlaintextUpstream}, []string{UnsafePlaintextUpstream}},
		{"mqtts:// to a remote broker is safe", func(c *Config) { c.Forward.Kind, c.Forward.MQTT.URL = "mqtt", "mqtts://broker.example:8883" }, nil, nil, nil},
		{"mqtt:// to localhost is safe", func(c *Config) { c.Forward.Kind, c.Forward.MQTT.URL = "mqtt", "mqtt://localhost:1883" }, nil, nil, nil},
		{"nats:// to a remote server without a CA file is plaintext_upstream", func(c *Config) { c.Forward.Kind, c.Forward.NATS.URL = "nats", "nats://[2001:db8::1]:4222" }, nil,
			[]string{UnsafePlaintextUpstream}, []string{UnsafePlaintextUpstream}},
		{"nats:// with a CA file uses TLS and is safe", func(c *Config) {
			c.Forward.Kind, c.Forward.NATS.URL, c.Forward.NATS.CAFile = "nats", "nats://nats.example:4222", "ca.pem"
		}, nil, nil, nil},
		{"plaintext_upstream starts when allowed by name", func(c *Config) {
			c.Forward.Kind, c.Forward.HTTP.URL = "http", "http://upstream.example/in"
			c.Guardrails.AllowUnsafe = []string{UnsafePlaintextUpstream}
		}, nil, []string{UnsafePlaintextUpstream}, nil},
		{"core NATS forwarding starts when allowed by name", func(c *Config) {
			c.Forward.Kind, c.Forward.NATS.URL, c.Forward.NATS.JetStream = "nats", "nats://127.0.0.1:4222", false
			c.Guardrails.AllowUnsafe = []string{UnsafeForwardUnacked}
		}, nil, []string{UnsafeForwardUnacked}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.TLS.CertFile, c.TLS.KeyFile, c.Auth.TokensFile = "c.pem", "k.pem", "tokens"
			tt.mutate(&c)
			var got []string
			for _, u := range c.UnsafeSettings(tt.mode) {
				got = append(got, u.Name)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("unsafe settings %v, want %v", got, tt.want)
			}
			err := c.CheckGuardrails(tt.mode)
			if len(tt.refused) == 0 {
				if err != nil {
					t.Errorf("CheckGuardrails: %v", err)
				}
				return
			}
			var ge *GuardrailError
			if !errors.As(err, &ge) {
				t.Fatalf("CheckGuardrails = %v, want a *GuardrailError", err)
			}
			for _, name := range tt.refused {
				if !strings.Contains(err.Error(), `"`+name+`"`) || !strings.Contains(err.Error(), "guardrails.allow_unsafe") {
					t.Errorf("refusal does not name %s and the way to allow it: %v", name, err)
				}
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:8080": true, "localhost:8080": true, "127.0.0.2:1": true,
		":8080": false, "0.0.0.0:8080": false, "[::]:8080": false, "10.0.0.1:80": false, "nonsense": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yml")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("listen:\n  https: 127.0.0.1:8443\nguardrails:\n  allow_unsafe: [auth_none]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, p, err := ParseWithPositions(bytes.NewReader(data))
		if err != nil {
			return
		}
		_ = p
		if err := c.Validate(); err != nil && err.Error() == "" {
			t.Fatal("empty validation error")
		}
		_ = c.UnsafeSettings(nil)
		_ = c.CheckGuardrails(nil)
	})
}
