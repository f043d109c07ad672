package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hardgate/hardgate/internal/gateway/auth"
	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/queue"
	"github.com/hardgate/hardgate/internal/gateway/server/testcert"
	"github.com/hardgate/hardgate/internal/poll"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fixture is a running server on loopback with a PKI and a device token.
type fixture struct {
	cfg    config.Config
	srv    *Server
	pki    *testcert.PKI
	client *http.Client
	base   string // https://127.0.0.1:port
	token  string
	logs   *syncBuffer
	reg    *prometheus.Registry
}

// baseConfig is a hardened config on loopback with fresh certs and a token.
func baseConfig(t testing.TB) (config.Config, *testcert.PKI, string) {
	t.Helper()
	dir := t.TempDir()
	pki, err := testcert.New(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tokens := filepath.Join(dir, "tokens")
	token, err := auth.AddToken(tokens, "sensor-1")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Listen.HTTPS = "127.0.0.1:0"
	cfg.TLS.CertFile, cfg.TLS.KeyFile = pki.CertFile, pki.KeyFile
	cfg.Auth.TokensFile = tokens
	cfg.Store.Dir = filepath.Join(dir, "store")
	return cfg, pki, token
}

func startFixture(t testing.TB, mutate func(*config.Config), opts ...func(*Options)) *fixture {
	t.Helper()
	cfg, pki, token := baseConfig(t)
	if mutate != nil {
		mutate(&cfg)
	}
	f := &fixture{cfg: cfg, pki: pki, token: token, logs: &syncBuffer{}, reg: prometheus.NewRegistry()}
	o := Options{
		Logger:     slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer: f.reg,
		Version:    "test",
	}
	for _, fn := range opts {
		fn(&o)
	}
	srv, err := New(cfg, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	f.srv = srv
	t.Cleanup(func() { f.shutdown(t) })
	tr := &http.Transport{TLSClientConfig: pki.ClientTLS(), ForceAttemptHTTP2: true}
	f.client = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	if a := srv.HTTPSAddr(); a != "" {
		f.base = "https://" + a
	} else {
		f.base = "http://" + srv.HTTPAddr()
	}
	return f
}

func (f *fixture) shutdown(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

type answer struct {
	code   int
	header http.Header
	body   []byte
}

func (f *fixture) do(t *testing.T, method, path string, body []byte, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, f.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{code: resp.StatusCode, header: resp.Header, body: data}
}

func (f *fixture) ingest(t *testing.T, body string) answer {
	t.Helper()
	return f.do(t, http.MethodPost, PathIngest, []byte(body), map[string]string{
		"Authorization": "Bearer " + f.token, "Content-Type": "application/json",
	})
}

func gzipBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const sample = `{"device":"sensor-1","ts":"2026-01-02T03:04:05Z","temperature_c":21.5,"humidity":40}`

func TestIngestAnswers(t *testing.T) {
	f := startFixture(t, func(c *config.Config) { c.Limits.MaxBodyBytes = 4096 })
	bearer := "Bearer " + f.token
	bomb := gzipBytes(t, []byte(`{"pad":"`+strings.Repeat("a", 100_000)+`"}`))
	tests := []struct {
		name    string
		body    []byte
		header  map[string]string
		code    int
		errKind string
	}{
		{"a valid object with a token is accepted", []byte(sample), map[string]string{"Authorization": bearer}, 202, ""},
		{"NDJSON with a lowercase scheme is accepted", []byte(sample + "\n" + sample + "\n"), map[string]string{"Authorization": "bearer " + f.token, "Content-Type": "application/x-ndjson"}, 202, ""},
		{"a gzip array is accepted", gzipBytes(t, []byte("["+sample+","+sample+"]")), map[string]string{"Authorization": bearer, "Content-Encoding": "gzip"}, 202, ""},
		{"no Authorization header is refused with a challenge", []byte(sample), nil, 401, "unauthorized"},
		{"a wrong token is refused", []byte(sample), map[string]string{"Authorization": bearer + "x"}, 401, "unauthorized"},
		{"basic auth is refused", []byte(sample), map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, 401, "unauthorized"},
		{"malformed JSON is a 400 naming the position", []byte("{\"a\":1}\n{\"a\":}"), map[string]string{"Authorization": bearer}, 400, "invalid_payload"},
		{"a body over the cap is a 413", []byte(`{"pad":"` + strings.Repeat("a", 5000) + `"}`), map[string]string{"Authorization": bearer}, 413, "too_large"},
		{"a gzip bomb is a 413 after decompression", bomb, map[string]string{"Authorization": bearer, "Content-Encoding": "gzip"}, 413, "too_large"},
		{"an unknown content type is a 415", []byte(sample), map[string]string{"Authorization": bearer, "Content-Type": "application/xml"}, 415, "unsupported_media_type"},
		{"an unknown encoding is a 415", []byte(sample), map[string]string{"Authorization": bearer, "Content-Encoding": "br"}, 415, "unsupported_encoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := f.do(t, http.MethodPost, PathIngest, tt.body, tt.header)
			if a.code != tt.code {
				t.Fatalf("status = %d, want %d; body %s", a.code, tt.code, a.body)
			}
			for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "Content-Type": "application/json"} {
				if got := a.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if a.header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
			if tt.code == 202 {
				var r Receipt
				if err := json.Unmarshal(a.body, &r); err != nil || r.BatchID == "" || r.Records < 1 {
					t.Fatalf("receipt %s: %v", a.body, err)
				}
				return
			}
			var e errorBody
			if err := json.Unmarshal(a.body, &e); err != nil {
				t.Fatalf("error body %s: %v", a.body, err)
			}
			if e.Error != tt.errKind || e.RequestID != a.header.Get("X-Request-Id") {
				t.Errorf("error body = %+v, want kind %q and the request id", e, tt.errKind)
			}
			if tt.code == 401 && !strings.HasPrefix(a.header.Get("WWW-Authenticate"), `Bearer realm="ingestd"`) {
				t.Errorf("WWW-Authenticate = %q", a.header.Get("WWW-Authenticate"))
			}
			if tt.code == 400 && (e.Line != 2 || e.Column != 6 || !strings.Contains(e.Problem, "invalid JSON")) {
				t.Errorf("400 does not name the problem and position: %+v", e)
			}
		})
	}
}

func TestAcceptedBatchIsInTheQueue(t *testing.T) {
	f := startFixture(t, nil)
	a := f.ingest(t, "["+sample+", {\"n\": 2}]")
	if a.code != 202 {
		t.Fatalf("status %d: %s", a.code, a.body)
	}
	var r Receipt
	if err := json.Unmarshal(a.body, &r); err != nil {
		t.Fatal(err)
	}
	f.shutdown(t)
	q, err := queue.Open(queue.Options{Dir: f.cfg.Store.Dir, MaxBytes: f.cfg.Store.MaxBytes})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	got, err := q.Peek(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	want := sample + "\n{\"n\":2}\n"
	if len(got) != 1 || got[0].ID != r.BatchID || string(got[0].Body) != want || got[0].Device != "sensor-1" || got[0].Records != 2 {
		t.Fatalf("queue holds %+v, want batch %s from sensor-1 with %q", got, r.BatchID, want)
	}
}

func TestRateLimitPerDevice(t *testing.T) {
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := startFixture(t, func(c *config.Config) {
		c.Limits.RatePerDevice = 0.5
		c.Limits.RateBurst = 2
	}, func(o *Options) { o.Now = func() time.Time { return fixed } })
	for i, want := range []int{202, 202, 429, 429} {
		a := f.ingest(t, sample)
		if a.code != want {
			t.Fatalf("request %d: status %d, want %d", i+1, a.code, want)
		}
		if want == 429 && a.header.Get("Retry-After") != "2" {
			t.Errorf("Retry-After = %q, want 2 (one token every 2s)", a.header.Get("Retry-After"))
		}
	}
	// Another device has its own bucket.
	tok, err := auth.AddToken(f.cfg.Auth.TokensFile, "sensor-2")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.ReloadTokens(); err != nil {
		t.Fatal(err)
	}
	f.token = tok
	if a := f.ingest(t, sample); a.code != 202 {
		t.Fatalf("second device: status %d", a.code)
	}
}

func TestQueueFullAnswers507(t *testing.T) {
	f := startFixture(t, func(c *config.Config) {
		c.Store.MaxBytes = 1000
		c.Limits.MaxBodyBytes = 1000
	})
	accepted := 0
	var last answer
	for range 20 {
		last = f.ingest(t, sample)
		if last.code != 202 {
			break
		}
		accepted++
	}
	if last.code != 507 || last.header.Get("Retry-After") == "" {
		t.Fatalf("after %d accepted: status %d Retry-After %q, want 507 with Retry-After", accepted, last.code, last.header.Get("Retry-After"))
	}
	if want := 1000 / (len(sample) + 1); accepted != want {
		t.Errorf("accepted %d batches, want %d", accepted, want)
	}
	if a := f.do(t, http.MethodGet, PathReady, nil, nil); a.code != 200 {
		t.Logf("readyz with %d of 1000 bytes used: %d", accepted*(len(sample)+1), a.code)
	}
}

func TestReadinessReportsAFullQueue(t *testing.T) {
	f := startFixture(t, func(c *config.Config) {
		c.Store.MaxBytes = int64(len(sample) + 1)
		c.Limits.MaxBodyBytes = c.Store.MaxBytes
	})
	if a := f.do(t, http.MethodGet, PathReady, nil, nil); a.code != 200 {
		t.Fatalf("empty queue: readyz %d", a.code)
	}
	if a := f.ingest(t, sample); a.code != 202 {
		t.Fatalf("ingest %d %s", a.code, a.body)
	}
	a := f.do(t, http.MethodGet, PathReady, nil, nil)
	if a.code != 503 || !strings.Contains(string(a.body), "queue full") {
		t.Fatalf("full queue: readyz %d %s", a.code, a.body)
	}
}

func TestOperationalEndpointsNeedNoToken(t *testing.T) {
	f := startFixture(t, nil)
	if a := f.ingest(t, sample); a.code != 202 {
		t.Fatal(a.code)
	}
	tests := []struct {
		name   string
		method string
		path   string
		code   int
		want   string
	}{
		{"healthz answers ok", "GET", PathHealth, 200, `"ok"`},
		{"readyz answers ready", "GET", PathReady, 200, `"ready"`},
		{"metrics counts requests by status", "GET", PathMetrics, 200, `ingestd_http_requests_total{code="202",handler="ingest"} 1`},
		{"metrics exposes the queue depth", "GET", PathMetrics, 200, "ingestd_queue_batches 1"},
		{"metrics exposes the append latency", "GET", PathMetrics, 200, "ingestd_queue_append_duration_seconds_count 1"},
		{"metrics exposes the group commit's transaction time", "GET", PathMetrics, 200, "ingestd_queue_commit_transaction_seconds_count 1"},
		{"metrics exposes the WAL sync time", "GET", PathMetrics, 200, "ingestd_queue_commit_sync_seconds_count 1"},
		{"metrics exposes the wait from commit to durable", "GET", PathMetrics, 200, "ingestd_queue_commit_durable_wait_seconds_count 1"},
		{"posture answers JSON", "GET", PathPosture, 200, `"unsafe_settings":[]`},
		{"an unknown path is a 404", "GET", "/admin", 404, `"not_found"`},
		{"GET on ingest is a 405", "GET", PathIngest, 405, `"method_not_allowed"`},
		{"POST on healthz is a 405", "POST", PathHealth, 405, `"method_not_allowed"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := f.do(t, tt.method, tt.path, nil, nil)
			if a.code != tt.code || !strings.Contains(string(a.body), tt.want) {
				t.Fatalf("%s %s = %d, want %d containing %q:\n%s", tt.method, tt.path, a.code, tt.code, tt.want, a.body)
			}
		})
	}
}

func TestDrainingAnswersNotReady(t *testing.T) {
	f := startFixture(t, nil)
	f.srv.draining.Store(true)
	defer f.srv.draining.Store(false)
	if a := f.do(t, "GET", PathReady, nil, nil); a.code != 503 {
		t.Fatalf("readyz while draining = %d", a.code)
	}
	if a := f.ingest(t, sample); a.code != 202 {
		t.Fatalf("a request in flight while draining = %d, want 202: it is stored before the queue closes", a.code)
	}
}

func TestReloadTokensKeepsOldSetOnError(t *testing.T) {
	f := startFixture(t, nil)
	if err := os.WriteFile(f.cfg.Auth.TokensFile, []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.ReloadTokens(); err == nil {
		t.Fatal("reload of a broken file succeeded")
	}
	if a := f.ingest(t, sample); a.code != 202 {
		t.Fatalf("old token after failed reload: %d", a.code)
	}
	if err := os.WriteFile(f.cfg.Auth.TokensFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.ReloadTokens(); err != nil {
		t.Fatal(err)
	}
	if a := f.ingest(t, sample); a.code != 401 {
		t.Fatalf("revoked token after reload: %d", a.code)
	}
}

func TestServerTimeoutsAreAlwaysSet(t *testing.T) {
	s, err := newHTTPServer(http.NotFoundHandler(), nil, nil, readHeaderTimeout, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0 || s.MaxHeaderBytes <= 0 {
		t.Fatalf("a limit is unset: %+v", s)
	}
}

func TestSecurityHeaderNamesAreCanonical(t *testing.T) {
	for _, kv := range securityHeaders {
		if http.CanonicalHeaderKey(kv[0]) != kv[0] {
			t.Errorf("%q is not canonical (%q); the map write would not be found by Get", kv[0], http.CanonicalHeaderKey(kv[0]))
		}
	}
	for _, k := range []string{"Strict-Transport-Security", "X-Request-Id", "Content-Type", "Content-Length"} {
		if http.CanonicalHeaderKey(k) != k {
			t.Errorf("%q is not canonical", k)
		}
	}
}

func TestStoreFailureAnswers503(t *testing.T) {
	f := startFixture(t, nil)
	if err := f.srv.queue().Close(); err != nil {
		t.Fatal(err)
	}
	a := f.ingest(t, sample)
	if a.code != 503 || a.header.Get("Retry-After") == "" || !strings.Contains(string(a.body), `"store_unavailable"`) {
		t.Fatalf("ingest with a closed store = %d %s, want 503 with Retry-After", a.code, a.body)
	}
	if strings.Contains(string(a.body), "closed") {
		t.Errorf("the error body leaks the internal cause: %s", a.body)
	}
	if a := f.do(t, "GET", PathReady, nil, nil); a.code != 503 {
		t.Fatalf("readyz with a closed store = %d", a.code)
	}
	if !strings.Contains(f.logs.String(), "queue is closed") {
		t.Errorf("the cause is not logged under the request id:\n%s", f.logs.String())
	}
}

func TestShutdownDrainsAPostureRequest(t *testing.T) {
	cfg, pki, _ := baseConfig(t)
	srv, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	entered := make(chan struct{})
	// A slow /v1/posture request: the handler is held until Shutdown runs.
	inner := srv.handler
	srv.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == PathPosture {
			close(entered)
			<-release
		}
		inner.ServeHTTP(w, r)
	})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: pki.ClientTLS()}, Timeout: 10 * time.Second}
	done := make(chan int, 1)
	go func() {
		resp, err := client.Get("https://" + srv.HTTPSAddr() + PathPosture)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-entered
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- srv.Shutdown(ctx)
	}()
	// Shutdown has reached the drain once the listener is closed.
	addr := srv.HTTPSAddr()
	poll.Until(t, "Shutdown to close the listener", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	close(release)
	if code := <-done; code != 200 {
		t.Fatalf("posture during shutdown = %d", code)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}
