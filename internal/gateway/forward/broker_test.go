package forward

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/queue"
	"github.com/hardgate/hardgate/internal/poll"
)

// Helpers shared by the MQTT and NATS forwarder tests.

// brokerDeadline bounds waits in the broker tests (a hang guard, not a timing assertion).
const brokerDeadline = 90 * time.Second

// received counts deliveries per batch id, with the bodies seen.
type received struct {
	mu  sync.Mutex
	got map[string][]string
}

func (r *received) add(id, body string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.got == nil {
		r.got = map[string][]string{}
	}
	r.got[id] = append(r.got[id], body)
}

// verify checks that every wanted batch arrived with its body and returns
// the number of duplicate deliveries.
func (r *received) verify(tb testing.TB, want map[string]string) (duplicates int) {
	tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	missing := 0
	for id, body := range want {
		got := r.got[id]
		if len(got) == 0 {
			missing++
			if missing <= 10 {
				tb.Errorf("batch %s was accepted but never arrived", id)
			}
			continue
		}
		for _, g := range got {
			if g != body {
				tb.Errorf("batch %s arrived with body %q, want %q", id, g, body)
			}
		}
		duplicates += len(got) - 1
	}
	if missing > 0 {
		tb.Errorf("%d of %d accepted batches never arrived", missing, len(want))
	}
	return duplicates
}

// producer appends batches to q until stopped, as devices would through ingestd.
type producer struct {
	q     *queue.Queue
	mu    sync.Mutex
	want  map[string]string
	n     atomic.Int64
	stopc chan struct{}
	done  chan struct{}
}

func startProducer(tb testing.TB, q *queue.Queue, every time.Duration) *producer {
	tb.Helper()
	p := &producer{q: q, want: map[string]string{}, stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-p.stopc:
				return
			case <-t.C:
			}
			b := queue.Batch{
				ID:         queue.NewID(time.Now()),
				Device:     fmt.Sprintf("dev-%d", i%4),
				Records:    1,
				Body:       fmt.Appendf(nil, "{\"seq\":%d,\"temp\":21.5}\n", i),
				ReceivedAt: time.Now(),
			}
			if err := q.Append(context.Background(), b); err != nil {
				tb.Errorf("append batch %d: %v", i, err)
				return
			}
			p.mu.Lock()
			p.want[b.ID] = string(b.Body)
			p.mu.Unlock()
			p.n.Add(1)
		}
	}()
	tb.Cleanup(p.stop)
	return p
}

func (p *producer) stop() {
	select {
	case <-p.stopc:
	default:
		close(p.stopc)
	}
	<-p.done
}

func (p *producer) accepted() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]string, len(p.want))
	for k, v := range p.want {
		out[k] = v
	}
	return out
}

// long runs the outage tests with the 20 s outages the issue asks for
// (go test ./internal/gateway/forward/ -long); the default run keeps them
// short so that the whole suite stays fast.
var long = flag.Bool("long", false, "run the broker outage tests with 20 s outages")

// outageLength is how long an outage test keeps its upstream down: 2 s, or
// 20 s with -long.
func outageLength() time.Duration {
	if *long {
		return 20 * time.Second
	}
	return 2 * time.Second
}

// holdOutage returns once the upstream has been down (since down) for
// outageLength and at least 20 batches were queued (queued) behind it.
func holdOutage(tb testing.TB, down time.Time, queued func() int) {
	tb.Helper()
	poll.Until(tb, "the outage to last its length with batches queued behind it", func() bool {
		return time.Since(down) >= outageLength() && queued() >= 20
	}, poll.Timeout(outageLength()+brokerDeadline))
}

// startDispatch runs a dispatcher from q to f until the test ends.
func startDispatch(tb testing.TB, q *queue.Queue, f Forwarder) {
	tb.Helper()
	d := NewDispatcher(q, f, DispatchOptions{BackoffMin: 50 * time.Millisecond, BackoffMax: time.Second, MaxInFlight: 16})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(brokerDeadline):
			tb.Error("dispatcher did not stop")
		}
	})
}

func testQueue(tb testing.TB) *queue.Queue {
	tb.Helper()
	q, err := queue.Open(queue.Options{Dir: tb.TempDir(), MaxBytes: 256 << 20})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = q.Close() })
	return q
}
