//go:build linux && !arm && !386

package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/hardgate/hardgate/internal/gateway/queue"
	"github.com/hardgate/hardgate/internal/lazyfs"
)

// checkpointerEnv makes this test binary, run as a child, force WAL
// checkpoints on the store file it names (see startCheckpointer).
const checkpointerEnv = "HARDGATE_POWERLOSS_CHECKPOINTER"

func init() {
	if path := os.Getenv(checkpointerEnv); path != "" {
		os.Exit(runCheckpointer(path))
	}
}

// runCheckpointer opens the store as a second SQLite connection (another
// process, as the sqlite3 shell would be) and checkpoints the WAL in turn
// in every mode, printing a line per completed checkpoint, until killed.
func runCheckpointer(path string) int {
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_pragma=busy_timeout(50)")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	modes := []string{"PASSIVE", "TRUNCATE", "RESTART", "FULL"}
	for i := 0; ; i++ {
		var busy, logFrames, done int
		err := db.QueryRow("PRAGMA wal_checkpoint("+modes[i%len(modes)]+")").Scan(&busy, &logFrames, &done)
		if err == nil && busy == 0 {
			fmt.Printf("checkpoint %s %d %d\n", modes[i%len(modes)], logFrames, done)
		}
		// Pacing of a background job, not a test waiting for a condition.
		time.Sleep(10 * time.Millisecond)
	}
}

// checkpointer is a running runCheckpointer child.
type checkpointer struct {
	cmd   *exec.Cmd
	lines atomic.Int64
	done  chan struct{}
}

func startCheckpointer(t *testing.T, dbPath string) *checkpointer {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &checkpointer{cmd: exec.Command(exe), done: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), checkpointerEnv+"="+dbPath)
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines.Add(1)
		}
		_ = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() { c.kill(t) })
	return c
}

// kill SIGKILLs the child and returns how many checkpoints it completed.
func (c *checkpointer) kill(t *testing.T) int {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		t.Fatal("checkpointer did not exit on SIGKILL")
	}
	return int(c.lines.Load())
}

// loadGen is 8 concurrent clients posting batches of 1 to 8 records; it
// remembers the body of every batch that got a 202.
type loadGen struct {
	client *http.Client
	token  string
	padMax int

	mu    sync.Mutex
	acked map[string]string // batch id → NDJSON body
	seq   int

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// start runs the clients against addr; the channel is closed once min
// batches were acknowledged.
func (l *loadGen) start(addr string, min int) <-chan struct{} {
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	reached := make(chan struct{})
	var n atomic.Int64
	for range 8 {
		l.wg.Go(func() {
			for ctx.Err() == nil {
				body := l.body()
				id, ok := l.post(ctx, addr, body)
				if !ok {
					continue // refused, failed or cut: not acknowledged
				}
				l.mu.Lock()
				l.acked[id] = body
				l.mu.Unlock()
				if n.Add(1) == int64(min) {
					close(reached)
				}
			}
		})
	}
	return reached
}

func (l *loadGen) stop() {
	l.cancel()
	l.wg.Wait()
}

// body returns a new NDJSON batch, unique across the run.
func (l *loadGen) body() string {
	l.mu.Lock()
	l.seq++
	seq := l.seq
	l.mu.Unlock()
	var sb strings.Builder
	for r := range 1 + rand.IntN(8) {
		fmt.Fprintf(&sb, `{"seq":%d,"record":%d,"temperature_c":%d.5,"pad":"%s"}`+"\n",
			seq, r, seq%40, strings.Repeat("x", rand.IntN(l.padMax+1)))
	}
	return sb.String()
}

// post sends one batch and returns its id if it was acknowledged.
func (l *loadGen) post(ctx context.Context, addr, body string) (string, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+"/v1/ingest", strings.NewReader(body))
	if err != nil {
		return "", false
	}
	req.Header.Set("Authorization", "Bearer "+l.token)
	resp, err := l.client.Do(req)
	if err != nil {
		return "", false
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return "", false
	}
	var r struct {
		BatchID string `json:"batch_id"`
		Records int    `json:"records"`
	}
	if json.Unmarshal(data, &r) != nil || r.BatchID == "" || r.Records != strings.Count(body, "\n") {
		return "", false
	}
	return r.BatchID, true
}

// verifyAfterRestart mounts the store once more, restarts ingestd (which
// must open it), lets it drain to the sink, stops it cleanly, checks the
// store on the backing directory itself and counts the acknowledged
// batches missing (lost) or present with other content (altered, counted
// in lost too).
func verifyAfterRestart(t *testing.T, bin, cfgPath, backing, mnt string, client *http.Client, sink string, acked map[string]string) (lost, altered int) {
	t.Helper()
	fsys, err := lazyfs.Mount(lazyfs.Options{Backing: backing, Mountpoint: mnt})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = fsys.Cut() })
	c := startChild(t, bin, cfgPath)
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(metrics(t, client, c.addr), "ingestd_queue_batches 0\n") {
		if time.Now().After(deadline) {
			t.Fatalf("the queue did not drain after the last restart:\n%s", c.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.stop(t, syscall.SIGTERM)
	if err := fsys.Unmount(); err != nil {
		t.Fatal(err)
	}
	q, err := queue.Open(queue.Options{Dir: backing, MaxBytes: 1 << 30})
	if err != nil {
		t.Fatalf("the store on the backing directory: %v", err)
	}
	queued, err := q.Peek(context.Background(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	found := readSink(t, sink)
	for _, b := range queued {
		for line := range strings.SplitAfterSeq(string(b.Body), "\n") {
			if line != "" {
				found[b.ID] = append(found[b.ID], line)
			}
		}
	}
	for id, body := range acked {
		got := found[id]
		switch {
		case len(got) == 0:
			lost++
			if lost <= 3 {
				t.Logf("acknowledged batch %s lost", id)
			}
		case !sameLines(got, body):
			altered++
			t.Errorf("acknowledged batch %s altered: sent %q, found %q", id, body, got)
		}
	}
	return lost + altered, altered
}

// sameLines reports whether the records found (repeats allowed: delivery
// is at least once) are exactly the records of body.
func sameLines(found []string, body string) bool {
	want := strings.SplitAfter(strings.TrimSuffix(body, "\n"), "\n")
	for i := range want {
		if !strings.HasSuffix(want[i], "\n") {
			want[i] += "\n"
		}
	}
	got := slices.Compact(slices.Sorted(slices.Values(found)))
	slices.Sort(want)
	return slices.Equal(got, want)
}
