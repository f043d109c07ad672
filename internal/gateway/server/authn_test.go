package server

import (
	"net/http"
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
