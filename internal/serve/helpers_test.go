package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/poll"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/store"
	"github.com/hardgate/hardgate/internal/store/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// waitFor waits for cond with the project's one polling helper.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, what, cond, poll.Timeout(20*time.Second))
}

const testSecret = "0123456789abcdef-test-secret"

// receiver is a webhook endpoint that verifies every alert.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	alerts []AlertPayload
	bad    []string
	fail   int // answer 503 to this many requests first
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail > 0 {
			r.fail--
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		if err := Verify([]byte(testSecret), req.Header.Get(HeaderSignature), body, time.Now(), time.Minute); err != nil {
			r.bad = append(r.bad, err.Error())
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p AlertPayload
		if err := json.Unmarshal(body, &p); err != nil {
			r.bad = append(r.bad, err.Error())
			return
		}
		if req.Header.Get(HeaderEvent) != p.Event || req.Header.Get(HeaderDelivery) != p.ID {
			r.bad = append(r.bad, "headers do not match the body")
		}
		r.alerts = append(r.alerts, p)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) received() []AlertPayload {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]AlertPayload(nil), r.alerts...)
}

func (r *receiver) events() string {
	var out []string
	for _, a := range r.received() {
		out = append(out, a.Event+":"+a.Target)
	}
	return strings.Join(out, " ")
}

// fakeExec returns, for each target, the result its current mode gives:
// "pass" (the worked example's after), "regress" (its before: four
// controls that passed now fail) or "hang" (blocks until cancelled).
type fakeExec struct {
	mu      sync.Mutex
	mode    map[string]string
	calls   map[string]int
	running map[string]int
	maxRun  int
	nowRun  int
	overlap bool
	release chan struct{} // when set, every audit waits for it
}

func newFakeExec() *fakeExec {
	return &fakeExec{mode: map[string]string{}, calls: map[string]int{}, running: map[string]int{}}
}

func (f *fakeExec) set(target, mode string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode[target] = mode
}

func (f *fakeExec) count(target string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[target]
}

func (f *fakeExec) Audit(ctx context.Context, t Target) (*result.Result, error) {
	f.mu.Lock()
	f.calls[t.Name]++
	n := f.calls[t.Name]
	mode := f.mode[t.Name]
	f.running[t.Name]++
	if f.running[t.Name] > 1 {
		f.overlap = true
	}
	f.nowRun++
	f.maxRun = max(f.maxRun, f.nowRun)
	release := f.release
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.running[t.Name]--
		f.nowRun--
		f.mu.Unlock()
	}()
	if release != nil {
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
	var res *result.Result
	switch mode {
	case "hang":
		<-ctx.Done()
		res = reporttest.WorkedExampleAfter()
	case "regress":
		res = reporttest.WorkedExampleBefore()
	case "error":
		return nil, fmt.Errorf("target %s: token_env HARDGATE_TOKEN is not set", t.Name)
	default:
		res = reporttest.WorkedExampleAfter()
	}
	res.AuditID = fmt.Sprintf("hg-%s-%03d", t.Name, n)
	res.Target.Name = t.Name
	now := time.Now().UTC()
	res.StartedAt, res.FinishedAt = now, now
	return res, nil
}

func targets(names ...string) []Target {
	var out []Target
	for i, n := range names {
		out = append(out, Target{Name: n, Labels: map[string]string{"site": fmt.Sprintf("plant-%d", i%2+1)}})
	}
	return out
}

// testConfig is a valid config with the given YAML appended.
func testConfig(t *testing.T, extra string) *Config {
	t.Helper()
	c, err := Parse(strings.NewReader("fleet: fleet.yaml\n" + extra))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func openStore(t *testing.T, location string) *store.Store {
	t.Helper()
	if location == "" {
		location = filepath.Join(t.TempDir(), "history.db")
	}
	s, err := store.Open(context.Background(), location)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newService(t *testing.T, cfg *Config, st *store.Store, exec Executor, tgts []Target) *Service {
	t.Helper()
	s, err := New(context.Background(), cfg, Options{Targets: tgts, Store: st, Executor: exec,
		Getenv: func(string) string { return testSecret }, ToolVersion: "test", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testLogger writes the service's log into the test's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tlogWriter struct{ t *testing.T }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// runService runs s until the test ends.
func runService(t *testing.T, s *Service) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the service to start", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.schedCtx != nil
	})
	return cancel
}
