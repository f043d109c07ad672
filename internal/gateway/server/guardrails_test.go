package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/queue"
)

func TestGuardrailsRefuseUnsafeSettings(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(t *testing.T, c *config.Config)
		setting string
		field   string
	}{
		{"a plaintext listener is refused", func(t *testing.T, c *config.Config) { c.Listen.HTTP = "127.0.0.1:0" },
			config.UnsafePlaintextListener, "listen.http"},
		{"a non-loopback plaintext listener is refused even when plaintext is allowed", func(t *testing.T, c *config.Config) {
			c.Listen.HTTP = "0.0.0.0:0"
			c.Guardrails.AllowUnsafe = []string{config.UnsafePlaintextListener}
		}, config.UnsafeNonLoopbackPlain, "listen.http"},
		{"auth none is refused", func(t *testing.T, c *config.Config) { c.Auth.Mode = config.AuthNone },
			config.UnsafeAuthNone, "auth.mode"},
		{"TLS 1.0 is refused", func(t *testing.T, c *config.Config) { c.TLS.MinVersion = "1.0" },
			config.UnsafeTLSBelow12, "tls.min_version"},
		{"forwarding over plain HTTP to a remote upstream is refused", func(t *testing.T, c *config.Config) {
			c.Forward.Kind, c.Forward.HTTP.URL = "http", "http://upstream.example:8080/telemetry"
		}, config.UnsafePlaintextUpstream, "forward.http.url"},
		{"forwarding over mqtt:// to a remote broker is refused", func(t *testing.T, c *config.Config) {
			c.Forward.Kind, c.Forward.MQTT.URL = "mqtt", "mqtt://broker.example:1883"
		}, config.UnsafePlaintextUpstream, "forward.mqtt.url"},
		{"forwarding over nats:// to a remote server is refused", func(t *testing.T, c *config.Config) {
			c.Forward.Kind, c.Forward.NATS.URL = "nats", "nats://nats.example:4222"
		}, config.UnsafePlaintextUpstream, "forward.nats.url"},
		{"a key file with mode 0644 is refused", func(t *testing.T, c *config.Config) { chmod(t, c.TLS.KeyFile, 0o644) },
			config.UnsafeSecretFileReadable, "tls.key_file"},
		{"a tokens file with mode 0644 is refused", func(t *testing.T, c *config.Config) { chmod(t, c.Auth.TokensFile, 0o644) },
			config.UnsafeSecretFileReadable, "auth.tokens_file"},
		{"a key file owned by another user is refused", func(t *testing.T, c *config.Config) { chownOther(t, c.TLS.KeyFile) },
			config.UnsafeSecretFileReplace, "tls.key_file"},
		{"a tokens file in a directory others can write is refused", func(t *testing.T, c *config.Config) {
			dir := filepath.Join(filepath.Dir(c.Auth.TokensFile), "shared")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			moved := filepath.Join(dir, "tokens")
			if err := os.Rename(c.Auth.TokensFile, moved); err != nil {
				t.Fatal(err)
			}
			chmod(t, dir, 0o777)
			c.Auth.TokensFile = moved
		}, config.UnsafeSecretFileReplace, "auth.tokens_file"},
		{"silencing announcements is refused", func(t *testing.T, c *config.Config) { c.Guardrails.LegacySilenceUnsafe = true },
			config.UnsafeSilenceAnnouncement, "guardrails.legacy_silence_unsafe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, _ := baseConfig(t)
			tt.mutate(t, &cfg)
			_, err := New(cfg, Options{})
			var ge *config.GuardrailError
			if !errors.As(err, &ge) {
				t.Fatalf("New error = %v, want a guardrail refusal", err)
			}
			msg := err.Error()
			for _, want := range []string{tt.setting, tt.field, "guardrails.allow_unsafe"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error does not name %q:\n%s", want, msg)
				}
			}
			// Allowing exactly the named settings lets it start.
			for _, s := range cfg.UnsafeSettings(config.StatMode) {
				cfg.Guardrails.AllowUnsafe = append(cfg.Guardrails.AllowUnsafe, s.Name)
			}
			if _, err := New(cfg, Options{}); err != nil {
				t.Fatalf("New with every setting allowed: %v", err)
			}
		})
	}
}

// chownOther gives path to a user that is neither root nor the test's.
func chownOther(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user")
	}
	if err := os.Chown(path, 12345, 12345); err != nil {
		t.Fatal(err)
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	cfg, _, _ := baseConfig(t)
	cfg.Auth.Mode = "magic"
	cfg.Store.MaxBytes = 0
	_, err := New(cfg, Options{})
	if err == nil || !strings.Contains(err.Error(), "auth.mode") || !strings.Contains(err.Error(), "store.max_bytes") {
		t.Fatalf("New error = %v, want both fields named", err)
	}
}

// legacy is the "before" state of the worked example.
func legacy(silenced bool) func(c *config.Config) {
	return func(c *config.Config) {
		c.Listen.HTTPS = ""
		c.Listen.HTTP = "127.0.0.1:0"
		c.Auth.Mode = config.AuthNone
		c.Guardrails.AllowUnsafe = []string{config.UnsafePlaintextListener, config.UnsafeAuthNone, config.UnsafeSilenceAnnouncement}
		c.Guardrails.LegacySilenceUnsafe = silenced
	}
}

func TestUnsafeSettingsAreAnnounced(t *testing.T) {
	tests := []struct {
		name     string
		silenced bool
		want     []string
	}{
		{"allowed unsafe settings are announced", false, []string{config.UnsafeAuthNone, config.UnsafePlaintextListener}},
		{"the legacy switch silences every announcement", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFixture(t, legacy(tt.silenced))
			if a := f.do(t, http.MethodPost, PathIngest, []byte(sample), nil); a.code != 202 {
				t.Fatalf("anonymous ingest on the legacy listener: %d %s", a.code, a.body)
			}
			var p Posture
			a := f.do(t, http.MethodGet, PathPosture, nil, nil)
			if err := json.Unmarshal(a.body, &p); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range p.UnsafeSettings {
				got = append(got, u.Name)
				if u.Field == "" || u.Value == "" || u.Detail == "" || !u.Allowed {
					t.Errorf("incomplete posture entry %+v", u)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("posture lists %v, want %v", got, tt.want)
			}
			metrics := string(f.do(t, http.MethodGet, PathMetrics, nil, nil).body)
			logs := f.logs.String()
			for _, name := range []string{config.UnsafeAuthNone, config.UnsafePlaintextListener} {
				announcedMetric := strings.Contains(metrics, `ingestd_unsafe_setting{field=`) && strings.Contains(metrics, `setting="`+name+`"`)
				announcedLog := strings.Contains(logs, "level=WARN msg=\"unsafe setting in force\" setting="+name)
				if announcedMetric != !tt.silenced || announcedLog != !tt.silenced {
					t.Errorf("%s: metric announced %v, log announced %v, silenced %v", name, announcedMetric, announcedLog, tt.silenced)
				}
			}
		})
	}
}

func TestTLSPolicy(t *testing.T) {
	f := startFixture(t, nil)
	addr := f.srv.HTTPSAddr()
	tests := []struct {
		name    string
		conf    func(*tls.Config)
		ok      bool
		version uint16
	}{
		{"TLS 1.3 is negotiated by default", func(*tls.Config) {}, true, tls.VersionTLS13},
		{"TLS 1.2 with an AEAD ECDHE suite is accepted", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
		}, true, tls.VersionTLS12},
		{"TLS 1.1 is refused", func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS11, tls.VersionTLS11 }, false, 0},
		{"a CBC suite is refused", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}
		}, false, 0},
		{"a static RSA key exchange is refused", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}
		}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.pki.ClientTLS()
			tt.conf(c)
			d := tls.Dialer{Config: c}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			conn, err := d.DialContext(ctx, "tcp", addr)
			if !tt.ok {
				if err == nil {
					conn.Close()
					t.Fatal("handshake succeeded")
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			defer conn.Close()
			if v := conn.(*tls.Conn).ConnectionState().Version; v != tt.version {
				t.Errorf("version %x, want %x", v, tt.version)
			}
		})
	}
}

func TestMutualTLSIdentifiesTheDevice(t *testing.T) {
	cfg, pki, _ := baseConfig(t)
	cfg.Auth.Mode = config.AuthMTLS
	cfg.TLS.ClientCAFile = pki.CAFile
	srv, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	cert, err := pki.ClientCert("sensor-9", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tc := pki.ClientTLS()
	tc.Certificates = []tls.Certificate{cert}
	tr := &http.Transport{TLSClientConfig: tc}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := client.Post("https://"+srv.HTTPSAddr()+PathIngest, "application/json", strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("with a client certificate: %d", resp.StatusCode)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	q, err := queue.Open(queue.Options{Dir: cfg.Store.Dir, MaxBytes: cfg.Store.MaxBytes})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if got, err := q.Peek(context.Background(), 1); err != nil || len(got) != 1 || got[0].Device != "sensor-9" {
		t.Fatalf("queued %+v, %v; want one batch from sensor-9 (the certificate's common name)", got, err)
	}
}

func TestMutualTLSRequiresACertificate(t *testing.T) {
	cfg, pki, _ := baseConfig(t)
	cfg.Auth.Mode = config.AuthMTLS
	cfg.TLS.ClientCAFile = pki.CAFile
	srv, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	tr2 := &http.Transport{TLSClientConfig: pki.ClientTLS()}
	defer tr2.CloseIdleConnections()
	if resp, err := (&http.Client{Transport: tr2, Timeout: 10 * time.Second}).Post("https://"+srv.HTTPSAddr()+PathIngest, "application/json", strings.NewReader(sample)); err == nil {
		resp.Body.Close()
		t.Fatalf("without a client certificate: %d, want a refused handshake", resp.StatusCode)
	}
}
