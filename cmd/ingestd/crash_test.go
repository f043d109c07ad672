package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/auth"
	"github.com/hardgate/hardgate/internal/gateway/forward"
	"github.com/hardgate/hardgate/internal/gateway/queue"
	"github.com/hardgate/hardgate/internal/poll"
)

var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// buildIngestd compiles this command once per test run.
func buildIngestd(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the ingestd binary")
	}
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "ingestd-test-")
		if built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "ingestd")
		// The go command that runs the tests puts its own bin directory
		// first on PATH.
		gobin, err := exec.LookPath("go")
		if err != nil {
			built.err = fmt.Errorf("find the go command: %w", err)
			return
		}
		cmd := exec.Command(gobin, "build", "-o", built.bin, ".")
		// Built as shipped: pure Go. A -race in GOFLAGS (.ci/run sets it
		// for the tests) needs cgo, so it is left out of this build.
		cmd.Env = append(withoutRace(os.Environ()), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// withoutRace drops -race from GOFLAGS in env.
func withoutRace(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GOFLAGS="); ok {
			var keep []string
			for _, f := range strings.Fields(v) {
				if f != "-race" && f != "-race=true" {
					keep = append(keep, f)
				}
			}
			kv = "GOFLAGS=" + strings.Join(keep, " ")
		}
		out = append(out, kv)
	}
	return out
}

// child is a running ingestd process.
type child struct {
	cmd    *exec.Cmd
	addr   string
	mu     sync.Mutex
	logs   bytes.Buffer
	exited chan struct{}
}

// startChild runs the binary and waits for its "ingestd started" log line.
func startChild(t *testing.T, bin, cfgPath string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(bin, "run", "--config", cfgPath), exited: make(chan struct{})}
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			c.logs.WriteString(line + "\n")
			c.mu.Unlock()
			var rec struct {
				Msg   string `json:"msg"`
				HTTPS string `json:"https"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "ingestd started" {
				addrc <- rec.HTTPS
			}
		}
		_ = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		<-c.exited
	})
	select {
	case c.addr = <-addrc:
	case <-c.exited:
		t.Fatalf("ingestd exited at start:\n%s", c.log())
	case <-time.After(15 * time.Second):
		t.Fatalf("ingestd did not start:\n%s", c.log())
	}
	return c
}

func (c *child) log() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logs.String()
}

func (c *child) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("ingestd did not exit on %v:\n%s", sig, c.log())
	}
}

func clientFor(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// TestKillDuringLoadLosesNoAcknowledgedBatch runs ingestd as a child with a
// file-sink upstream, drives concurrent ingest, kills it with SIGKILL in the
// middle, restarts it, and checks that every batch that got a 202 is in the
// sink or still queued, with its content.
func TestKillDuringLoadLosesNoAcknowledgedBatch(t *testing.T) {
	t.Parallel()
	bin := buildIngestd(t)
	dir := t.TempDir()
	sink := filepath.Join(dir, "sink.ndjson")
	cfgPath := writeConfig(t, dir, "limits:\n  rate_per_device: 0\n"+
		"forward:\n  kind: file\n  file:\n    path: "+sink+"\n  backoff_min: 20ms\n  backoff_max: 200ms\n"+
		"log:\n  format: json\n")
	token, err := auth.AddToken(filepath.Join(dir, "tokens"), "sensor-1")
	if err != nil {
		t.Fatal(err)
	}
	client := clientFor(t, filepath.Join(dir, "ca.pem"))
	c := startChild(t, bin, cfgPath)

	acked := loadThenKill(t, c, client, token, 2, 200)

	// Restart: the queue must open (integrity check) and drain to the sink.
	c2 := startChild(t, bin, cfgPath)
	// Batches still queued when the drain is cut short are counted below.
	poll.Within(context.Background(), func() bool {
		return strings.Contains(metrics(t, client, c2.addr), "ingestd_queue_batches 0\n")
	}, poll.Timeout(10*time.Second))
	c2.stop(t, syscall.SIGTERM)

	delivered := readSink(t, sink)
	q, err := queue.Open(queue.Options{Dir: filepath.Join(dir, "store"), MaxBytes: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	queued, err := q.Peek(context.Background(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range queued {
		delivered[b.ID] = append(delivered[b.ID], string(b.Body))
	}
	lost := 0
	for id, body := range acked {
		got := delivered[id]
		if len(got) == 0 || !strings.HasPrefix(strings.Join(got, ""), body) {
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged batch %s: sent %q, found %q", id, body, got)
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged batches lost or altered", lost, len(acked))
	}
	t.Logf("%d acknowledged batches before SIGKILL, all found after restart (%d still queued)", len(acked), len(queued))
}

func metrics(t *testing.T, client *http.Client, addr string) string {
	t.Helper()
	resp, err := client.Get("https://" + addr + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return string(data)
}

// readSink groups the file sink's records by batch id, re-forming NDJSON.
func readSink(t *testing.T, path string) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for line := range bytes.SplitSeq(bytes.TrimSpace(data), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var l forward.FileLine
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatalf("sink line %q: %v", line, err)
		}
		out[l.BatchID] = append(out[l.BatchID], string(l.Record)+"\n")
	}
	return out
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

// waitLog waits for a line containing want in the child's log.
func waitLog(t *testing.T, c *child, want string) {
	t.Helper()
	poll.Until(t, "a log line containing "+want, func() bool { return strings.Contains(c.log(), want) }, poll.Timeout(10*time.Second))
}

// loadThenKill drives 8 concurrent authenticated clients against c, each
// POST carrying `records` NDJSON records, until killAfter batches got a 202
// (or 10 s passed), then SIGKILLs c under that load. It returns every
// acknowledged batch id with the body that was sent.
func loadThenKill(t *testing.T, c *child, client *http.Client, token string, records, killAfter int) map[string]string {
	t.Helper()
	var mu sync.Mutex
	acked := map[string]string{} // batch id → NDJSON body
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for w := range 8 {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				body := fmt.Sprintf(`{"worker":%d,"n":%d,"temperature_c":%d.5}`, w, n, n%40) + "\n"
				for r := 1; r < records; r++ {
					body += fmt.Sprintf(`{"worker":%d,"n":%d,"record":%d}`, w, n, r) + "\n"
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+c.addr+"/v1/ingest", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if err != nil {
					continue // killed or refused: not acknowledged
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					continue
				}
				var r struct {
					BatchID string `json:"batch_id"`
					Records int    `json:"records"`
				}
				if json.Unmarshal(data, &r) != nil || r.BatchID == "" || r.Records != records {
					t.Errorf("bad receipt %s", data)
					continue
				}
				mu.Lock()
				acked[r.BatchID] = body
				mu.Unlock()
			}
		})
	}
	// Kill once a good number of batches were acknowledged, load still running.
	poll.Within(ctx, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= killAfter
	}, poll.Timeout(10*time.Second))
	c.stop(t, syscall.SIGKILL)
	cancel()
	wg.Wait()
	if len(acked) < 20 {
		t.Fatalf("only %d batches acknowledged before the kill:\n%s", len(acked), c.log())
	}
	return acked
}
