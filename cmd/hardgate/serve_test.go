package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/poll"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/store/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
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

// serveDir writes a fleet of one unreachable loopback target and a serve
// config with the given extra lines.
func serveDir(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "fleet.yaml"), []byte("targets:\n  - name: gw-1\n    labels: {site: plant-1}\n    ingest: {urls: [\"http://127.0.0.1:9/v1/ingest\"]}\n    timeouts: {request: 1s, audit: 5s}\n"), 0o600)
	cfg := filepath.Join(dir, "serve.yaml")
	os.WriteFile(cfg, []byte("fleet: fleet.yaml\ndb: history.db\nschedule: {every: 1h}\n"+extra), 0o600)
	return cfg
}

func TestServeCheckConfig(t *testing.T) {
	tests := []struct {
		name     string
		extra    string
		wantCode int
		want     string
	}{
		{"a valid config is ok", "listen: 127.0.0.1:9480\n", exitOK, "ok: 1 targets"},
		{"a public listen without TLS and auth is refused", "listen: 0.0.0.0:9480\n", exitUsage, "without TLS"},
		{"an unknown key is refused", "listn: x\n", exitUsage, "listn"},
		{"a missing tokens file is reported", "auth: {tokens_file: nope}\n", exitUsage, "auth.tokens_file"},
		{"an unset webhook secret is reported", "alerts: {webhook: {url: 'http://127.0.0.1:1/h', secret_env: HG_TEST_UNSET_SECRET}}\n", exitUsage, "HG_TEST_UNSET_SECRET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "serve", "check-config", "--config", serveDir(t, tt.extra))
			if code != tt.wantCode || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", code, tt.wantCode, tt.want, out, errOut)
			}
		})
	}
}

func TestServeRefusesAPublicListenWithoutTLSAndAuth(t *testing.T) {
	code, _, errOut := runCLI(t, "serve", "--config", serveDir(t, "listen: 0.0.0.0:9480\n"))
	if code != exitUsage || !strings.Contains(errOut, "refusing to serve the dashboard to the network without TLS") ||
		!strings.Contains(errOut, "without auth") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
}

var startedURL = regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+/)`)

func TestServeStartsServesHealthAndStopsCleanly(t *testing.T) {
	cfg := serveDir(t, "listen: 127.0.0.1:0\nshutdown_grace: 1s\n")
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() { done <- run(ctx, []string{"serve", "--config", cfg}, &stdout, &stderr) }()
	defer cancel()
	var base string
	poll.Until(t, "serve to start", func() bool {
		if m := startedURL.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
		}
		return base != ""
	}, poll.Timeout(20*time.Second))
	resp, err := http.Get(base + "healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "hardgate serve stopped") {
		t.Errorf("no stop line:\n%s", stderr.String())
	}
}

func TestServeTokenAdd(t *testing.T) {
	file := filepath.Join(t.TempDir(), "serve-tokens")
	code, out, errOut := runCLI(t, "serve", "token", "add", "--tokens-file", file, "--role", "operator", "--name", "alice")
	if code != exitOK || !strings.HasPrefix(out, "hgs_") {
		t.Fatalf("exit %d out %q err %s", code, out, errOut)
	}
	data, _ := os.ReadFile(file)
	if !strings.HasPrefix(string(data), "operator alice $sha256$") || strings.Contains(string(data), strings.TrimSpace(out)) {
		t.Errorf("tokens file %q", data)
	}
	if code, _, _ := runCLI(t, "serve", "token", "add", "--tokens-file", file, "--role", "admin", "--name", "bob"); code != exitUsage {
		t.Errorf("role admin: exit %d", code)
	}
}

// TestBaselineAndHistoryOnBothEngines runs the same commands against a
// SQLite file and a real PostgreSQL database.
func TestBaselineAndHistoryOnBothEngines(t *testing.T) {
	dir := t.TempDir()
	before, after := filepath.Join(dir, "before.json"), filepath.Join(dir, "after.json")
	writeResultForTest(t, before, reporttest.WorkedExampleBefore())
	writeResultForTest(t, after, reporttest.WorkedExampleAfter())
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "h.db")
			if engine == "postgres" {
				db = pgtest.DSN(t)
			}
			if code, _, errOut := runCLI(t, "history", "add", before, after, "--db", db); code != exitOK {
				t.Fatalf("history add: %d %s", code, errOut)
			}
			code, out, errOut := runCLI(t, "history", "list", "--db", db)
			if code != exitOK || !strings.Contains(out, "hg-0000000000000001") || !strings.Contains(out, "hg-0000000000000002") {
				t.Fatalf("history list: %d\n%s%s", code, out, errOut)
			}
			code, out, errOut = runCLI(t, "baseline", "set", "plant-gateway", "hg-0000000000000002", "--db", db, "--reason", "after the sprint", "--by", "alice")
			if code != exitOK || !strings.Contains(out, "is now hg-0000000000000002") {
				t.Fatalf("baseline set: %d\n%s%s", code, out, errOut)
			}
			if code, _, errOut := runCLI(t, "baseline", "set", "other-gateway", "hg-0000000000000002", "--db", db); code != exitUsage || !strings.Contains(errOut, "another target") {
				t.Errorf("baseline set on another target: %d %s", code, errOut)
			}
			if code, _, errOut := runCLI(t, "baseline", "set", "plant-gateway", "hg-nope", "--db", db); code != exitUsage || !strings.Contains(errOut, "not found") {
				t.Errorf("baseline set to an unknown audit: %d %s", code, errOut)
			}
			code, out, _ = runCLI(t, "baseline", "show", "plant-gateway", "--db", db)
			if code != exitOK || !strings.Contains(out, "alice") || !strings.Contains(out, "after the sprint") {
				t.Errorf("baseline show: %d\n%s", code, out)
			}
		})
	}
}

func writeResultForTest(t *testing.T, path string, res *result.Result) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := result.Encode(f, res); err != nil {
		t.Fatal(err)
	}
}
