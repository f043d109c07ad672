package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/auth"
	"github.com/hardgate/hardgate/internal/gateway/config"
)

// legacyLine makes a token the way older versions did and its tokens-file
// line with a real argon2id hash (m=12 MiB, t=3).
func legacyLine(t *testing.T, device string) (token, line string) {
	t.Helper()
	b := make([]byte, 9+32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	id := base64.RawURLEncoding.EncodeToString(b[:9])
	token = auth.TokenPrefix + id + "." + base64.RawURLEncoding.EncodeToString(b[9:])
	h, err := auth.HashArgon2id(token)
	if err != nil {
		t.Fatal(err)
	}
	return token, fmt.Sprintf("%s %s %s\n", device, id, h)
}

// post sends one ingest POST with token on a fresh connection of its own,
// as a device that has just reconnected, and returns status and latency.
func (f *fixture) postFresh(t *testing.T, token string) (int, time.Duration) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: f.pki.ClientTLS(), DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, f.base+PathIngest, strings.NewReader(sample))
	req.Header.Set("Authorization", "Bearer "+token)
	t0 := time.Now()
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, time.Since(t0)
}

// flood sends wrong secrets for token's id from n keep-alive connections
// until ctx ends and counts the answers by status.
func (f *fixture) flood(ctx context.Context, token string, n int) (*sync.WaitGroup, *sync.Map) {
	var wg sync.WaitGroup
	var codes sync.Map
	for i := range n {
		tr := &http.Transport{TLSClientConfig: f.pki.ClientTLS()}
		client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
		wg.Go(func() {
			defer tr.CloseIdleConnections()
			for j := 0; ctx.Err() == nil; j++ {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.base+PathIngest, strings.NewReader(sample))
				if token != "" { // "" sends no credentials: the same load without any verification
					wrong := token[:len(token)-8] + fmt.Sprintf("%02d%06d", i, j%1_000_000)
					req.Header.Set("Authorization", "Bearer "+wrong)
				}
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				resp.Body.Close()
				v, _ := codes.LoadOrStore(resp.StatusCode, new(atomic.Int64))
				v.(*atomic.Int64).Add(1)
			}
		})
	}
	return &wg, &codes
}

func count(codes *sync.Map, code int) int64 {
	if v, ok := codes.Load(code); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// TestWrongSecretFloodOverTLS floods wrong secrets for one token id over
// real TLS (issue 11 item 6). For a sha256 token the device's real first
// request is not slowed; for a legacy argon2id id the flood costs at most
// the id's budget of slow hashes, answers 429 beyond it, and another legacy
// device's first request is served.
func TestWrongSecretFloodOverTLS(t *testing.T) {
	f := startFixture(t, func(c *config.Config) { c.Limits.RatePerDevice = 0 })
	victim, vline := legacyLine(t, "legacy-victim")
	bystander, bline := legacyLine(t, "legacy-bystander")
	file, err := os.OpenFile(f.cfg.Auth.TokensFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := file.WriteString(vline + bline); err != nil {
		t.Fatal(err)
	}
	file.Close()
	if err := f.srv.ReloadTokens(); err != nil {
		t.Fatal(err)
	}
	median := func(ds []time.Duration) time.Duration {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	firstRequests := func() time.Duration {
		var ds []time.Duration
		for range 9 {
			code, d := f.postFresh(t, f.token)
			if code != 202 {
				t.Fatalf("the right device: %d", code)
			}
			ds = append(ds, d)
		}
		return median(ds)
	}
	quiet := firstRequests()
	// The same request load without credentials: what any flood of requests
	// costs on these two cores, whatever authentication does.
	nctx, nstop := context.WithCancel(context.Background())
	nwg, ncodes := f.flood(nctx, "", 8)
	for count(ncodes, 401) < 200 {
		time.Sleep(10 * time.Millisecond)
	}
	loaded := firstRequests()
	nstop()
	nwg.Wait()
	ctx, stop := context.WithCancel(context.Background())
	wg, codes := f.flood(ctx, f.token, 4)
	wg2, vcodes := f.flood(ctx, victim, 4)
	deadline := time.Now().Add(20 * time.Second)
	for count(codes, 401) < 200 || count(vcodes, 429) < 50 {
		if time.Now().After(deadline) {
			t.Fatalf("the flood did not build up: %d 401 on sha256, %d 429 on the legacy id", count(codes, 401), count(vcodes, 429))
		}
		time.Sleep(10 * time.Millisecond)
	}
	flooded := firstRequests()
	code, bystanderTook := f.postFresh(t, bystander)
	stop()
	wg.Wait()
	wg2.Wait()
	if code != 202 {
		t.Fatalf("another legacy device's first request during the flood: %d", code)
	}
	slow := f.srv.auth.SlowVerifications()
	if slow > 3+1 {
		t.Errorf("%d slow verifications; the flood on one legacy id may cost 3 (its budget), the bystander 1", slow)
	}
	if count(codes, 429) != 0 || count(vcodes, 202) != 0 || count(codes, 202) != 0 {
		t.Errorf("sha256 id: %d throttled; wrong secrets accepted: %d, %d", count(codes, 429), count(codes, 202), count(vcodes, 202))
	}
	t.Logf("right device (sha256), median of 9 first requests on fresh TLS connections: %s quiet, %s under 8 connections sending no credentials, %s under 8 sending wrong secrets (%.2fx the same load without credentials); "+
		"flood: %d wrong sha256 secrets (401), legacy id %d x 401 + %d x 429; slow verifications %d; legacy bystander's first request %s",
		quiet.Round(time.Microsecond), loaded.Round(time.Microsecond), flooded.Round(time.Microsecond), float64(flooded)/float64(loaded),
		count(codes, 401), count(vcodes, 401), count(vcodes, 429), slow, bystanderTook.Round(time.Millisecond))
}

func TestConcurrentFirstRequestsOfALegacyTokenShareOneVerification(t *testing.T) {
	f := startFixture(t, func(c *config.Config) { c.Limits.RatePerDevice = 0 })
	tok, line := legacyLine(t, "legacy-1")
	if err := os.WriteFile(f.cfg.Auth.TokensFile, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.ReloadTokens(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var ok atomic.Int32
	for range 20 {
		wg.Go(func() {
			if code, _ := f.postFresh(t, tok); code == 202 {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 20 {
		t.Fatalf("%d of 20 concurrent first requests got 202", ok.Load())
	}
	if n := f.srv.auth.SlowVerifications(); n != 1 {
		t.Fatalf("%d slow verifications for 20 concurrent first requests of one token, want 1", n)
	}
}
