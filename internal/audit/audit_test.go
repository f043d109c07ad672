package audit

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/pki"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

var update = flag.Bool("update", false, "rewrite golden files")

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// testOptions injects a clock that ticks one second per read and a fixed id.
func testOptions() Options {
	n := 0
	return Options{
		ToolVersion: "test",
		NewID:       func() string { return "hg-test" },
		Now: func() time.Time {
			n++
			return t0.Add(time.Duration(n) * time.Second)
		},
	}
}

func mustRun(t *testing.T, tgt *spec.Target) *result.Result {
	t.Helper()
	tgt.Complete()
	res, err := Run(context.Background(), tgt, testOptions())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	validateResult(t, res)
	return res
}

func control(t *testing.T, res *result.Result, id string) result.ControlResult {
	t.Helper()
	for _, c := range res.Controls {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("control %s not in result", id)
	return result.ControlResult{}
}

func wantStatus(t *testing.T, res *result.Result, want map[string]result.Status) {
	t.Helper()
	for id, st := range want {
		if got := control(t, res, id); got.Status != st {
			t.Errorf("%s = %s (%s), want %s", id, got.Status, got.Reason, st)
		}
	}
}

const testToken = "s3cr3t-device-token-0123456789abcdef"

// tlsGateway serves h over TLS with a certificate from a fresh CA and
// returns the server and the CA file.
func tlsGateway(t *testing.T, h http.Handler) (*httptest.Server, string) {
	t.Helper()
	ca, err := pki.NewCA("test CA", time.Now(), 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue([]string{"127.0.0.1", "localhost"}, time.Now(), 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := leaf.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, caFile
}

// bearerGateway answers 202 to the valid token and 401 otherwise.
func bearerGateway() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("POST /v1/ingest", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ingestd"`)
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"batch_id":"b1","records":1}`)
	})
	return mux
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const hardenedConfig = `listen:
  https: 127.0.0.1:8443
tls:
  cert_file: /etc/ingestd/server.crt
  key_file: /etc/ingestd/server.key
auth:
  mode: bearer
  tokens_file: /etc/ingestd/tokens.yaml
store:
  dir: /var/lib/ingestd
`

const legacyConfig = `# legacy fleet settings
listen:
  https: ""
  http: 127.0.0.1:8080
auth:
  mode: none
store:
  dir: /var/lib/ingestd
guardrails:
  allow_unsafe: [plaintext_listener, auth_none, silence_unsafe]
  legacy_silence_unsafe: true
`

func TestAGatewayThatAcceptsAnythingOverPlaintextFails(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("HG_TEST_TOKEN", testToken)
	res := mustRun(t, &spec.Target{Name: "open", Ingest: spec.Ingest{URLs: []string{srv.URL + "/v1/ingest"}, TokenEnv: "HG_TEST_TOKEN"}})
	wantStatus(t, res, map[string]result.Status{
		"ingest_auth.unauthenticated_ingest_allowed": result.StatusFail,
		"ingest_auth.invalid_token_accepted":         result.StatusFail,
		"ingest_auth.insecure_transport":             result.StatusFail,
		"ingest_auth.authenticated_ingest_rejected":  result.StatusError, // token never sent over plaintext
		"gateway_runtime.health_unavailable":         result.StatusPass,
	})
	if res.Summary.Status != result.AuditFail || res.Summary.Posture != result.PostureRed {
		t.Errorf("summary = %s %s, want FAIL red", res.Summary.Status, res.Summary.Posture)
	}
	ev := control(t, res, "ingest_auth.unauthenticated_ingest_allowed").Evidence
	if len(ev) == 0 || ev[0].HTTP == nil || ev[0].HTTP.Method != "POST" || ev[0].HTTP.StatusCode != 202 || ev[0].HTTP.BodyExcerpt != `{"ok":true}` {
		t.Fatalf("evidence lacks the request and response: %+v", ev)
	}
	if ev[0].HTTP.RequestHeaders["X-Hardgate-Probe"] != "hg-test" || !strings.Contains(ev[0].HTTP.RequestBody, `"_hardgate_probe":true`) {
		t.Errorf("probe request is not marked: %+v", ev[0].HTTP)
	}
}

func TestAGatewayWithBearerAuthOverVerifiedTLSPasses(t *testing.T) {
	srv, caFile := tlsGateway(t, bearerGateway())
	t.Setenv("HG_TEST_TOKEN", testToken)
	cfg := writeFile(t, "ingestd.yaml", hardenedConfig)
	res := mustRun(t, &spec.Target{Ingest: spec.Ingest{URLs: []string{srv.URL + "/v1/ingest"}, CAFile: caFile, TokenEnv: "HG_TEST_TOKEN"},
		Gateway: spec.Gateway{ConfigFile: cfg, Kind: "ingestd"}})
	if res.Summary.Status != result.AuditPass || res.Summary.Posture != result.PostureGreen || res.Summary.RiskScore != 0 ||
		len(res.Findings) != 0 || len(res.Backlog) != 0 || !res.Summary.PositiveControlRan {
		b, _ := json.MarshalIndent(res.Controls, "", " ")
		t.Fatalf("summary = %+v, want PASS green 0 with the positive control run\n%s", res.Summary, b)
	}
	if len(res.Target.ConfigFiles) != 1 || len(res.Target.ConfigFiles[0].SHA256) != 64 {
		t.Errorf("config file digest missing: %+v", res.Target.ConfigFiles)
	}
}

func TestAGatewayThatRefusesEveryoneNeverPasses(t *testing.T) {
	srv, caFile := tlsGateway(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", "Bearer")
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Setenv("HG_TEST_TOKEN", testToken)
	res := mustRun(t, &spec.Target{Ingest: spec.Ingest{URLs: []string{srv.URL + "/v1/ingest"}, HealthURL: srv.URL + "/v1/ingest", CAFile: caFile, TokenEnv: "HG_TEST_TOKEN"}})
	wantStatus(t, res, map[string]result.Status{"ingest_auth.authenticated_ingest_rejected": result.StatusFail})
	if res.Summary.Status == result.AuditPass {
		t.Fatal("a gateway that refuses the valid token passed")
	}
}

func TestWithoutATokenThePositiveControlIsNotApplicableAndSaidSo(t *testing.T) {
	srv, caFile := tlsGateway(t, bearerGateway())
	res := mustRun(t, &spec.Target{Ingest: spec.Ingest{URLs: []string{srv.URL + "/v1/ingest"}, CAFile: caFile}})
	wantStatus(t, res, map[string]result.Status{
		"ingest_auth.authenticated_ingest_rejected": result.StatusNotApplicable,
		"ingest_auth.invalid_token_accepted":        result.StatusNotApplicable,
	})
	if res.Summary.PositiveControlRan || len(res.Summary.Notes) == 0 || !strings.Contains(res.Summary.Notes[0], "positive control did not run") {
		t.Fatalf("summary does not say the positive control did not run: %+v", res.Summary)
	}
}

// silentGateway accepts connections on 127.0.0.1 and holds them open
// without a byte until the test ends. The accepting goroutine makes no t
// calls; the cleanup runs on the test goroutine's behalf.
func silentGateway(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func TestAGatewayThatNeverAnswersIsInconclusiveWithinTheDeadline(t *testing.T) {
	// slack is what the audit may take beyond its deadline (judging,
	// scoring, a loaded -race runner); hangGuard only catches a hang.
	const (
		slack     = 3 * time.Second
		hangGuard = 60 * time.Second
	)
	tests := []struct {
		name     string
		timeouts spec.Timeouts
		// paths are the ingest URLs' paths on the silent gateway; with the
		// health probe, each costs one request deadline unless the audit
		// deadline ends them first.
		paths []string
	}{
		{
			name:     "the request deadline ends each probe well inside the audit deadline",
			timeouts: spec.Timeouts{Request: spec.Duration(200 * time.Millisecond), Audit: spec.Duration(5 * time.Second)},
			paths:    []string{"/v1/ingest"},
		},
		{
			// Validate refuses a request deadline above the audit deadline,
			// so this is the longest valid one: equal. Nine probes in a row
			// would need 9s by their own deadlines; only the 1s audit
			// deadline can end the audit inside the 4s bound.
			name:     "only the audit deadline can end an audit whose probes would outlast it",
			timeouts: spec.Timeouts{Request: spec.Duration(time.Second), Audit: spec.Duration(time.Second)},
			paths:    []string{"/a", "/b", "/c", "/d", "/e", "/f", "/g", "/h"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := silentGateway(t)
			var urls []string
			for _, p := range tt.paths {
				urls = append(urls, "http://"+addr+p)
			}
			tgt := &spec.Target{Ingest: spec.Ingest{URLs: urls}, Timeouts: tt.timeouts}
			if err := tgt.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			type outcome struct {
				res *result.Result
				err error
			}
			done := make(chan outcome, 1)
			start := time.Now()
			go func() {
				// Only the function under test runs here; every t call
				// stays on the test goroutine.
				res, err := Run(context.Background(), tgt, testOptions())
				done <- outcome{res, err}
			}()
			var out outcome
			select {
			case out = <-done:
			case <-time.After(hangGuard):
				t.Fatalf("the audit did not finish within %s", hangGuard)
			}
			elapsed := time.Since(start)
			if out.err != nil {
				t.Fatalf("Run: %v", out.err)
			}
			res := out.res
			validateResult(t, res)
			if res.Summary.Status == result.AuditPass {
				t.Fatal("a gateway that never answers passed")
			}
			if res.Summary.Status != result.AuditInconclusive || res.Summary.Posture != result.PostureUnknown {
				t.Errorf("summary = %s %s, want INCONCLUSIVE unknown", res.Summary.Status, res.Summary.Posture)
			}
			if bound := time.Duration(tt.timeouts.Audit) + slack; elapsed > bound {
				t.Errorf("the audit took %s, want at most the %s audit deadline plus %s", elapsed, time.Duration(tt.timeouts.Audit), slack)
			}
			wantStatus(t, res, map[string]result.Status{
				"ingest_auth.unauthenticated_ingest_allowed": result.StatusError,
				"ingest_auth.insecure_transport":             result.StatusError,
				"gateway_runtime.health_unavailable":         result.StatusError,
			})
		})
	}
}

func TestAnEndlessBodyIsCappedAndTheAuditFinishes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		chunk := bytes.Repeat([]byte("A"), 32<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	res := mustRun(t, &spec.Target{Ingest: spec.Ingest{URLs: []string{srv.URL + "/v1/ingest"}}})
	ev := control(t, res, "ingest_auth.unauthenticated_ingest_allowed").Evidence[0].HTTP
	if !ev.BodyTruncated || len(ev.BodyExcerpt) > 512 {
		t.Fatalf("body not capped: truncated=%v excerpt=%d bytes", ev.BodyTruncated, len(ev.BodyExcerpt))
	}
	wantStatus(t, res, map[string]result.Status{"ingest_auth.unauthenticated_ingest_allowed": result.StatusPass})
}

func TestAConfigWithAuthOffAndNothingAnnouncingItFailsBothGuardrails(t *testing.T) {
	cfg := writeFile(t, "ingestd.yaml", legacyConfig)
	res := mustRun(t, &spec.Target{Gateway: spec.Gateway{ConfigFile: cfg, Kind: "ingestd"}})
	wantStatus(t, res, map[string]result.Status{
		"gateway_config_guardrails.auth_enforcement_disabled":      result.StatusFail,
		"gateway_config_guardrails.unsafe_defaults_not_observable": result.StatusFail,
		"gateway_config_guardrails.tls_minimum_below_1_2":          result.StatusPass,
	})
	lines := map[string]int{}
	for _, id := range []string{"gateway_config_guardrails.auth_enforcement_disabled", "gateway_config_guardrails.unsafe_defaults_not_observable"} {
		for _, ev := range control(t, res, id).Evidence {
			if ev.Config == nil || ev.Config.File != cfg {
				t.Fatalf("%s: evidence without file: %+v", id, ev)
			}
			lines[ev.Config.Key] = ev.Config.Line
		}
	}
	if lines["auth.mode"] != 6 || lines["guardrails.legacy_silence_unsafe"] != 11 {
		t.Errorf("evidence lines = %v, want auth.mode:6 and guardrails.legacy_silence_unsafe:11", lines)
	}
}

func TestTheWorkedExampleBeforeStateHasExactlyFourFindings(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/v1/ingest", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cfg := writeFile(t, "ingestd.yaml", strings.Replace(legacyConfig, "127.0.0.1:8080", srv.Listener.Addr().String(), 1))
	res := mustRun(t, &spec.Target{Ingest: spec.Ingest{URLs: []string{srv.URL + "/v1/ingest"}}, Gateway: spec.Gateway{ConfigFile: cfg}})
	var ids []string
	for _, f := range res.Findings {
		ids = append(ids, f.ID+"/"+f.Severity)
	}
	if len(res.Findings) != 4 || res.Summary.SeverityCounts["high"] != 3 || res.Summary.SeverityCounts["medium"] != 1 ||
		res.Summary.Status != result.AuditFail || res.Summary.Posture != result.PostureRed || len(res.Backlog) != 4 {
		t.Fatalf("findings = %v, summary %+v; want the 4 findings of the worked example", ids, res.Summary)
	}
	for _, d := range res.Summary.Domains {
		wantPosture := map[string]string{"Identity & Cryptography": "red", "Access Control": "red", "Data Protection": "red", "Availability & Monitoring": "green"}[d.Name]
		if d.Posture != wantPosture {
			t.Errorf("domain %s posture %s, want %s", d.Name, d.Posture, wantPosture)
		}
	}
}

func TestACertificateThatDoesNotVerifyFailsTransportAndKeepsTheTokenHome(t *testing.T) {
	var sawToken bool
	srv, _ := tlsGateway(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Authorization"), testToken) {
			sawToken = true
		}
		w.WriteHeader(http.StatusUnauthorized)
	}))
	_, otherCA := tlsGateway(t, http.NotFoundHandler())
	t.Setenv("HG_TEST_TOKEN", testToken)
	res := mustRun(t, &spec.Target{Ingest: spec.Ingest{URLs: []string{srv.URL + "/v1/ingest"}, CAFile: otherCA, TokenEnv: "HG_TEST_TOKEN"}})
	wantStatus(t, res, map[string]result.Status{
		"ingest_auth.insecure_transport":             result.StatusFail,
		"ingest_auth.unauthenticated_ingest_allowed": result.StatusPass,
		"ingest_auth.authenticated_ingest_rejected":  result.StatusError,
	})
	if sawToken {
		t.Fatal("the valid token was sent to a server whose certificate did not verify")
	}
}

func TestTheTokenIsRedactedEverywhere(t *testing.T) {
	srv, caFile := tlsGateway(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "https://127.0.0.1/?echo="+r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "you sent %s", r.Header.Get("Authorization")) // a gateway that echoes secrets
	}))
	t.Setenv("HG_TEST_TOKEN", testToken)
	res := mustRun(t, &spec.Target{Ingest: spec.Ingest{URLs: []string{srv.URL + "/v1/ingest"}, CAFile: caFile, TokenEnv: "HG_TEST_TOKEN"}})
	var buf bytes.Buffer
	if err := result.Encode(&buf, res); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), testToken) {
		t.Fatal("the valid token appears in the result")
	}
	if !strings.Contains(buf.String(), "[REDACTED]") {
		t.Fatal("no redaction marker: was the valid token sent at all?")
	}
}

var hostPort = regexp.MustCompile(`127\.0\.0\.1:\d+`)

// TestResultGolden pins the result JSON of the worked example's before
// state; regenerate with go test ./internal/audit -run TestResultGolden -update.
func TestResultGolden(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/v1/ingest", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"batch_id":"b1","records":1}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "ingestd.yaml")
	if err := os.WriteFile(cfgPath, []byte(strings.Replace(legacyConfig, "127.0.0.1:8080", srv.Listener.Addr().String(), 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	res := mustRun(t, &spec.Target{Name: "plant-7-gateway", Ingest: spec.Ingest{URLs: []string{srv.URL + "/v1/ingest"}}, Gateway: spec.Gateway{ConfigFile: cfgPath}})
	var buf bytes.Buffer
	if err := result.Encode(&buf, res); err != nil {
		t.Fatal(err)
	}
	got := hostPort.ReplaceAllString(buf.String(), "127.0.0.1:PORT")
	got = strings.ReplaceAll(got, dir, "TMPDIR")
	got = regexp.MustCompile(`"sha256": "[0-9a-f]{64}"`).ReplaceAllString(got, `"sha256": "SHA256"`)
	got = regexp.MustCompile(`"Date": "[^"]*"`).ReplaceAllString(got, `"Date": "DATE"`)
	golden := filepath.Join("testdata", "before-result.golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (regenerate with -update)", err)
	}
	if got != string(want) {
		t.Errorf("result differs from %s (regenerate with -update after checking the change):\n%s", golden, got)
	}
}
