package server

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/auth"
	"github.com/hardgate/hardgate/internal/gateway/config"
)

// TestReloadKeepsRateLimitState checks that SIGHUP's reload leaves each
// device's rate-limit bucket as it was: a reload is no way to reset one.
func TestReloadKeepsRateLimitState(t *testing.T) {
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := startFixture(t, func(c *config.Config) {
		c.Limits.RatePerDevice = 0.1
		c.Limits.RateBurst = 2
	}, func(o *Options) { o.Now = func() time.Time { return fixed } })
	for i, want := range []int{202, 202, 429} {
		if a := f.ingest(t, sample); a.code != want {
			t.Fatalf("request %d: %d, want %d", i+1, a.code, want)
		}
	}
	if _, err := auth.AddToken(f.cfg.Auth.TokensFile, "sensor-2"); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.ReloadTokens(); err != nil {
		t.Fatal(err)
	}
	if a := f.ingest(t, sample); a.code != 429 {
		t.Fatalf("after the reload: %d, want 429 (the device's bucket is still empty)", a.code)
	}
}

// TestReloadSwapsTokensAtomically reloads the tokens file repeatedly while
// a device sends: its token never fails, whatever the interleaving.
func TestReloadSwapsTokensAtomically(t *testing.T) {
	f := startFixture(t, func(c *config.Config) { c.Limits.RatePerDevice = 0 })
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := auth.AddToken(f.cfg.Auth.TokensFile, "churn-1"); err != nil {
				t.Error(err)
				return
			}
			if err := f.srv.ReloadTokens(); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for i := range 100 {
		if a := f.ingest(t, sample); a.code != 202 {
			t.Errorf("request %d during reloads: %d", i, a.code)
			break
		}
	}
	close(stop)
	wg.Wait()
}

func TestExpiredTokenIsRefusedWith401(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := startFixture(t, nil, func(o *Options) { o.Now = clock })
	tok, _, err := auth.Add(f.cfg.Auth.TokensFile, "sensor-9", auth.AddOptions{Now: now, Expires: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.ReloadTokens(); err != nil {
		t.Fatal(err)
	}
	f.token = tok
	if a := f.ingest(t, sample); a.code != 202 {
		t.Fatalf("before expiry: %d", a.code)
	}
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	a := f.ingest(t, sample)
	if a.code != 401 || a.header.Get("WWW-Authenticate") != bearerChallenge+`, error="invalid_token"` {
		t.Fatalf("at expiry: %d %q, want 401 with error=invalid_token", a.code, a.header.Get("WWW-Authenticate"))
	}
}

func TestAuthMetrics(t *testing.T) {
	f := startFixture(t, nil)
	good := f.token
	for _, tok := range []string{good, good, good[:len(good)-2] + "xx", "igd.unknownid01." + strings.Repeat("a", 43)} {
		f.token = tok
		f.ingest(t, sample)
	}
	f.do(t, http.MethodPost, PathIngest, []byte(sample), nil) // no Authorization
	body := string(f.do(t, http.MethodGet, PathMetrics, nil, nil).body)
	for _, want := range []string{
		`ingestd_auth_verifications_total{method="sha256",result="ok"} 2`,
		`ingestd_auth_verifications_total{method="sha256",result="invalid"} 1`,
		`ingestd_auth_verifications_total{method="none",result="unknown_id"} 1`,
		`ingestd_auth_verifications_total{method="none",result="missing"} 1`,
		`ingestd_auth_verification_duration_seconds_count{method="sha256"} 3`,
		`ingestd_auth_devices_seen 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", grepLines(body, "ingestd_auth_"))
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestReloadRechecksTheTokensFileGuardrails(t *testing.T) {
	tests := []struct {
		name    string
		break_  func(t *testing.T, tokens string)
		setting string
	}{
		{"a tokens file readable by others is not loaded", func(t *testing.T, tokens string) { chmod(t, tokens, 0o644) },
			config.UnsafeSecretFileReadable},
		{"a tokens file in a directory others can write is not loaded", func(t *testing.T, tokens string) {
			chmod(t, filepath.Dir(tokens), 0o777)
		}, config.UnsafeSecretFileReplace},
		{"a tokens file owned by another user is not loaded", func(t *testing.T, tokens string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give the file to another user")
			}
			if err := os.Chown(tokens, 12345, 12345); err != nil {
				t.Fatal(err)
			}
		}, config.UnsafeSecretFileReplace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFixture(t, nil)
			fresh, err := auth.AddToken(f.cfg.Auth.TokensFile, "sensor-2")
			if err != nil {
				t.Fatal(err)
			}
			tt.break_(t, f.cfg.Auth.TokensFile)
			t.Cleanup(func() { _ = os.Chmod(filepath.Dir(f.cfg.Auth.TokensFile), 0o700) })
			err = f.srv.ReloadTokens()
			var ge *config.GuardrailError
			if !errors.As(err, &ge) || ge.Setting.Name != tt.setting {
				t.Fatalf("ReloadTokens = %v, want a %s refusal", err, tt.setting)
			}
			if !strings.Contains(f.logs.String(), "token reload refused; keeping the previous tokens") {
				t.Errorf("no log line says why:\n%s", f.logs.String())
			}
			if a := f.ingest(t, sample); a.code != 202 {
				t.Errorf("the old token after a refused reload: %d", a.code)
			}
			f.token = fresh
			if a := f.ingest(t, sample); a.code != 401 {
				t.Errorf("a token of the refused file: %d, want 401", a.code)
			}
		})
	}
}
