package forward

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hardgate/hardgate/internal/gateway/queue"
	"github.com/hardgate/hardgate/internal/poll"
)

// Each step of a Run, tested on its own against a real queue, a fixed
// clock and the largest backoff draw.

var epoch = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// testWindow returns the window of a dispatcher over q with a fixed clock
// (epoch), maximal backoff draws and the gateForwarder g, with its metrics
// registry.
func testWindow(t *testing.T, q *queue.Queue, g Forwarder, maxInFlight int) (*window, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	d := NewDispatcher(q, g, DispatchOptions{BackoffMin: time.Second, BackoffMax: time.Minute, MaxInFlight: maxInFlight, Registerer: reg})
	d.randN = func(n int64) int64 { return n - 1 }
	d.now = func() time.Time { return epoch }
	return d.newWindow(context.Background()), reg
}

// sortedIDs returns the keys of want in queue order.
func sortedIDs(want map[string]string) []string {
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func busyIDs(w *window) []string {
	ids := make([]string, 0, len(w.busy))
	for id := range w.busy {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// drain settles every delivery in flight.
func drain(w *window) {
	for len(w.busy) > 0 {
		w.settle(<-w.done)
	}
}

func TestWindowFill(t *testing.T) {
	t.Parallel()
	t.Run("fill starts the oldest batches up to the free slots", func(t *testing.T) {
		q := openQueue(t)
		ids := sortedIDs(fill(t, q, 5))
		w, _ := testWindow(t, q, &gateForwarder{}, 3)
		due, again := w.fill(epoch)
		if again || !due.IsZero() {
			t.Fatalf("fill = (%v, %v), want no retry due and no loop again", due, again)
		}
		if got := busyIDs(w); !slices.Equal(got, ids[:3]) {
			t.Fatalf("in flight %v, want the three oldest %v", got, ids[:3])
		}
		drain(w)
	})
	t.Run("fill passes over batches in flight and those waiting out their backoff", func(t *testing.T) {
		q := openQueue(t)
		ids := sortedIDs(fill(t, q, 5))
		g := &gateForwarder{release: make(chan struct{})}
		w, _ := testWindow(t, q, g, 4)
		w.busy[ids[0]] = struct{}{}
		w.retrying[ids[1]] = &retry{attempts: 1, next: epoch.Add(time.Second)}
		w.retrying[ids[2]] = &retry{attempts: 1, next: epoch.Add(-time.Second)} // due
		due, _ := w.fill(epoch)
		if !due.Equal(epoch.Add(time.Second)) {
			t.Errorf("due = %v, want the waiting batch's retry time", due)
		}
		want := []string{ids[0], ids[2], ids[3], ids[4]}
		if got := busyIDs(w); !slices.Equal(got, want) {
			t.Fatalf("in flight %v, want %v", got, want)
		}
		close(g.release)
		delete(w.busy, ids[0]) // marked busy by the test, never started
		drain(w)
	})
	t.Run("fill on a closed queue ends the run", func(t *testing.T) {
		q := openQueue(t)
		w, _ := testWindow(t, q, &gateForwarder{}, 2)
		q.Close()
		if _, again := w.fill(epoch); !again || !errors.Is(w.fatal, queue.ErrClosed) {
			t.Fatalf("again = %v, fatal = %v; want a loop again with ErrClosed", again, w.fatal)
		}
	})
}

// canceled returns a context that has ended.
func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestWindowSkip(t *testing.T) {
	t.Parallel()
	q := openQueue(t)
	w, _ := testWindow(t, q, &gateForwarder{}, 4)
	t.Run("with nothing waiting the set is the batches in flight", func(t *testing.T) {
		w.busy["a"] = struct{}{}
		set, due := w.skip(epoch)
		if len(set) != 1 || !due.IsZero() {
			t.Fatalf("skip = %v, %v", set, due)
		}
	})
	t.Run("a batch still waiting is skipped and the earliest wait is due", func(t *testing.T) {
		w.retrying["b"] = &retry{next: epoch.Add(3 * time.Second)}
		w.retrying["c"] = &retry{next: epoch.Add(2 * time.Second)}
		w.retrying["d"] = &retry{next: epoch} // due now: not skipped
		set, due := w.skip(epoch)
		_, skipsD := set["d"]
		if len(set) != 3 || skipsD || !due.Equal(epoch.Add(2*time.Second)) {
			t.Fatalf("skip = %v, due %v; want a, b, c and due in 2s", set, due)
		}
	})
}

func TestWindowSettle(t *testing.T) {
	t.Parallel()
	refused := errors.New("refused")
	t.Run("a success joins the group to acknowledge and ends the failure streak", func(t *testing.T) {
		w, _ := testWindow(t, openQueue(t), &gateForwarder{}, 4)
		w.busy["a"] = struct{}{}
		w.retrying["a"] = &retry{attempts: 3}
		w.failStreak, w.pauses = 1, 2
		w.settle(outcome{id: "a"})
		if len(w.busy) != 0 || len(w.retrying) != 0 || !slices.Equal(w.acked, []string{"a"}) || w.failStreak != 0 || w.pauses != 0 {
			t.Fatalf("after a success: busy %v, retrying %v, acked %v, streak %d, pauses %d", w.busy, w.retrying, w.acked, w.failStreak, w.pauses)
		}
	})
	t.Run("a failure gives the batch its own growing backoff", func(t *testing.T) {
		w, _ := testWindow(t, openQueue(t), &gateForwarder{}, 8) // pauses after 4
		for attempt, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
			w.busy["a"] = struct{}{}
			w.failStreak = 0
			w.settle(outcome{id: "a", err: refused})
			r := w.retrying["a"]
			if r == nil || r.attempts != attempt+1 || !r.next.Equal(epoch.Add(want)) {
				t.Fatalf("attempt %d: retry %+v, want next at +%s", attempt+1, r, want)
			}
		}
		if len(w.acked) != 0 || !w.pauseUntil.IsZero() {
			t.Fatalf("a single batch's failures acknowledged %v or paused until %v", w.acked, w.pauseUntil)
		}
	})
	t.Run("failures in a row across half the window pause every delivery", func(t *testing.T) {
		w, reg := testWindow(t, openQueue(t), &gateForwarder{}, 4) // pauses after 2
		for _, id := range []string{"a", "b"} {
			w.busy[id] = struct{}{}
			w.settle(outcome{id: id, err: refused})
		}
		if !w.pauseUntil.Equal(epoch.Add(time.Second)) || w.failStreak != 0 {
			t.Fatalf("pause until %v, streak %d; want a 1s pause and the streak reset", w.pauseUntil, w.failStreak)
		}
		if got := counterValue(t, reg, "ingestd_forward_backoff_seconds", nil); got != 1 {
			t.Errorf("backoff gauge %v, want 1", got)
		}
		w.busy["c"] = struct{}{}
		w.busy["d"] = struct{}{}
		w.settle(outcome{id: "c", err: refused})
		w.settle(outcome{id: "d", err: refused})
		if w.pauses != 1 {
			t.Errorf("deliveries failing during the pause paused again (%d pauses)", w.pauses)
		}
	})
	t.Run("a failure during shutdown is not an upstream verdict", func(t *testing.T) {
		w, _ := testWindow(t, openQueue(t), &gateForwarder{}, 4)
		w.ctx = canceled()
		w.busy["a"] = struct{}{}
		w.settle(outcome{id: "a", err: context.Canceled})
		if len(w.busy) != 0 || len(w.retrying) != 0 || w.failStreak != 0 {
			t.Fatalf("shutdown failure recorded: retrying %v, streak %d", w.retrying, w.failStreak)
		}
	})
}

func TestWindowPause(t *testing.T) {
	t.Parallel()
	w, reg := testWindow(t, openQueue(t), &gateForwarder{}, 4)
	gauge := func() float64 { return counterValue(t, reg, "ingestd_forward_backoff_seconds", nil) }
	w.pause(epoch, 0, errors.New("down"))
	w.pause(epoch, 0, errors.New("down"))
	if !w.pauseUntil.Equal(epoch.Add(2*time.Second)) || gauge() != 2 {
		t.Fatalf("second pause until %v, gauge %v; want 2s", w.pauseUntil, gauge())
	}
	w.pause(epoch, 45*time.Second, errors.New("Retry-After"))
	if !w.pauseUntil.Equal(epoch.Add(45 * time.Second)) {
		t.Fatalf("a Retry-After of 45s paused until %v", w.pauseUntil)
	}
	if !w.paused(epoch.Add(44*time.Second)) || w.paused(epoch.Add(45*time.Second)) {
		t.Fatal("paused() disagrees with the pause's end")
	}
	if gauge() != 0 {
		t.Fatalf("backoff gauge %v after the pause, want 0", gauge())
	}
}

func TestWindowAck(t *testing.T) {
	t.Parallel()
	t.Run("ack deletes the delivered group in one commit", func(t *testing.T) {
		q := openQueue(t)
		ids := sortedIDs(fill(t, q, 3))
		w, _ := testWindow(t, q, &gateForwarder{}, 4)
		w.acked = append(w.acked, ids[0], ids[2])
		w.ack()
		if len(w.acked) != 0 || w.fatal != nil {
			t.Fatalf("acked %v, fatal %v after ack", w.acked, w.fatal)
		}
		onlyLeft(t, q, ids[1])
	})
	t.Run("ack on a closed queue ends the run", func(t *testing.T) {
		q := openQueue(t)
		w, _ := testWindow(t, q, &gateForwarder{}, 4)
		q.Close()
		w.acked = append(w.acked, "x")
		w.ack()
		if !errors.Is(w.fatal, queue.ErrClosed) {
			t.Fatalf("fatal = %v, want ErrClosed", w.fatal)
		}
	})
}

func TestWindowWait(t *testing.T) {
	t.Parallel()
	t.Run("a finished delivery is settled and acknowledged with the others finished", func(t *testing.T) {
		q := openQueue(t)
		ids := sortedIDs(fill(t, q, 3))
		w, _ := testWindow(t, q, &gateForwarder{}, 4)
		w.fill(epoch)
		poll.Until(t, "the three deliveries to finish", func() bool { return len(w.done) == 3 })
		w.wait(false, time.Time{})
		if len(w.busy) != 0 {
			t.Fatalf("%d still in flight after wait", len(w.busy))
		}
		if st := q.Stats(); st.Batches != 0 {
			t.Fatalf("%d batches of %v still queued after wait", st.Batches, ids)
		}
	})
	t.Run("a closed queue is noticed during a pause", func(t *testing.T) {
		q := openQueue(t)
		w, _ := testWindow(t, q, &gateForwarder{}, 4)
		w.d.now = time.Now
		w.pauseUntil = time.Now().Add(time.Hour)
		q.Close()
		w.wait(true, time.Time{})
		if !errors.Is(w.fatal, queue.ErrClosed) {
			t.Fatalf("fatal = %v, want ErrClosed", w.fatal)
		}
	})
	t.Run("a retry falling due wakes the wait", func(t *testing.T) {
		q := openQueue(t)
		w, _ := testWindow(t, q, &gateForwarder{}, 4)
		w.d.now = time.Now
		w.wait(false, time.Now().Add(10*time.Millisecond)) // returns, or the test hangs
	})
}

func TestWindowFinish(t *testing.T) {
	t.Parallel()
	q := openQueue(t)
	fill(t, q, 2)
	w, _ := testWindow(t, q, &gateForwarder{}, 4)
	w.fill(epoch)
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
	if st := q.Stats(); st.Batches != 0 || len(w.busy) != 0 {
		t.Fatalf("finish left %d in flight and %d queued, want the delivered batches acknowledged", len(w.busy), st.Batches)
	}
}

// failingAcks is a queue whose Ack fails, storing nothing, while fail
// returns true (as a store whose filesystem is full).
type failingAcks struct {
	*queue.Queue
	fail  func() bool
	calls atomic.Int64
}

var errDiskFull = errors.New("commit: database or disk is full")

func (f *failingAcks) Ack(ctx context.Context, ids ...string) error {
	f.calls.Add(1)
	if f.fail() {
		return errDiskFull
	}
	return f.Queue.Ack(ctx, ids...)
}

func TestWindowAckFailure(t *testing.T) {
	t.Parallel()
	q := openQueue(t)
	ids := sortedIDs(fill(t, q, 3))
	var full atomic.Bool
	full.Store(true)
	fq := &failingAcks{Queue: q, fail: full.Load}
	w, reg := testWindow(t, q, &gateForwarder{}, 4)
	w.d.q = fq
	now := epoch
	w.d.now = func() time.Time { return now }

	w.acked = append(w.acked, ids[0], ids[1])
	w.ack()
	if len(w.acked) != 2 || w.ackFailures != 1 {
		t.Fatalf("after a failed ack: acked %v, failures %d; want the group kept and one failure", w.acked, w.ackFailures)
	}
	if got := counterValue(t, reg, "ingestd_forward_ack_failures_total", nil); got != 1 {
		t.Errorf("ingestd_forward_ack_failures_total = %v, want 1", got)
	}
	if !w.pauseUntil.Equal(epoch.Add(time.Second)) || !w.paused(epoch) {
		t.Fatalf("deliveries paused until %v, want the first backoff (1s)", w.pauseUntil)
	}
	set, _ := w.skip(epoch)
	if _, ok := set[ids[0]]; !ok || len(set) != 2 {
		t.Fatalf("skip set %v, want the two delivered batches kept out of the window", set)
	}
	w.ack() // before the backoff is over: not tried
	if n := fq.calls.Load(); n != 1 {
		t.Fatalf("%d ack attempts before the backoff ended, want 1", n)
	}
	now = epoch.Add(time.Second)
	w.ack()
	if w.ackFailures != 2 || !w.ackRetry.Equal(now.Add(2*time.Second)) {
		t.Fatalf("second failure: failures %d, retry at %v; want 2 and a 2s backoff", w.ackFailures, w.ackRetry)
	}
	full.Store(false) // the store recovers
	now = now.Add(2 * time.Second)
	w.ack()
	if len(w.acked) != 0 || w.ackFailures != 0 || w.paused(now) {
		t.Fatalf("after recovery: acked %v, failures %d, paused %v", w.acked, w.ackFailures, w.paused(now))
	}
	onlyLeft(t, q, ids[2])
}

// TestDispatchBacksOffWhenAcksFail is the failure the issue reports: with
// the store's filesystem full, every ack failed, the ids were dropped from
// the bookkeeping and the same batches were sent again in a tight loop.
// Here acks fail for a while: each batch must reach the upstream once, the
// failures must be counted, and the queue must drain once acks work.
func TestDispatchBacksOffWhenAcksFail(t *testing.T) {
	t.Parallel()
	q := openQueue(t)
	want := fill(t, q, 16)
	var full atomic.Bool
	full.Store(true)
	fq := &failingAcks{Queue: q, fail: full.Load}
	var mu sync.Mutex
	sent := map[string]int{}
	g := &gateForwarder{verdict: func(b queue.Batch) error {
		mu.Lock()
		sent[b.ID]++
		mu.Unlock()
		return nil
	}}
	reg := prometheus.NewRegistry()
	d := NewDispatcher(q, g, DispatchOptions{BackoffMin: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond, MaxInFlight: 4, Registerer: reg})
	d.q = fq
	stop := runDispatcher(t, d)
	failures := func() float64 { return counterValue(t, reg, "ingestd_forward_ack_failures_total", nil) }
	poll.Until(t, "five failed acks", func() bool { return failures() >= 5 })
	if n := g.calls.Load(); n > 4 {
		t.Fatalf("%d deliveries while acks fail, want at most the first window (4): delivered batches were sent again", n)
	}
	full.Store(false)
	poll.Until(t, "the queue to drain", func() bool { return q.Stats().Batches == 0 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for id := range want {
		if sent[id] != 1 {
			t.Errorf("batch %s sent %d times, want once", id, sent[id])
		}
	}
	if got := counterValue(t, reg, "ingestd_forward_backoff_seconds", nil); got != 0 {
		t.Errorf("backoff gauge %v after recovery, want 0", got)
	}
}
