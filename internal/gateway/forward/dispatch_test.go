package forward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/queue"
	"github.com/hardgate/hardgate/internal/gateway/relay"
	"github.com/hardgate/hardgate/internal/poll"
)

// testDeadline bounds a test that waits for the dispatcher (a hang guard,
// not a timing assertion).
const testDeadline = 60 * time.Second

func openQueue(tb testing.TB) *queue.Queue {
	tb.Helper()
	q, err := queue.Open(queue.Options{Dir: tb.TempDir(), MaxBytes: 64 << 20})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = q.Close() })
	return q
}

func fill(tb testing.TB, q *queue.Queue, n int) map[string]string {
	tb.Helper()
	want := map[string]string{}
	for i := range n {
		b := queue.Batch{
			ID:      queue.NewID(time.Now()),
			Device:  fmt.Sprintf("dev-%d", i%3),
			Records: 1,
			Body:    fmt.Appendf(nil, "{\"seq\":%d}\n", i),
		}
		if err := q.Append(context.Background(), b); err != nil {
			tb.Fatal(err)
		}
		want[b.ID] = string(b.Body)
	}
	return want
}

// recorder is an upstream that fails its first failFirst requests with 503
// and then stores every batch, counting deliveries per Idempotency-Key.
type recorder struct {
	failFirst int64
	requests  atomic.Int64
	mu        sync.Mutex
	got       map[string][]string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	if rc.requests.Add(1) <= rc.failFirst {
		http.Error(w, "upstream outage", http.StatusServiceUnavailable)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.got == nil {
		rc.got = map[string][]string{}
	}
	id := r.Header.Get(HeaderIdempotencyKey)
	rc.got[id] = append(rc.got[id], string(body))
	w.WriteHeader(http.StatusAccepted)
}

// check verifies every wanted batch arrived with its content at least once
// and returns the number of duplicate deliveries.
func (rc *recorder) check(tb testing.TB, want map[string]string) (duplicates int) {
	tb.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for id, body := range want {
		got := rc.got[id]
		if len(got) == 0 {
			tb.Errorf("batch %s never arrived", id)
			continue
		}
		for _, g := range got {
			if g != body {
				tb.Errorf("batch %s arrived with body %q, want %q", id, g, body)
			}
		}
		duplicates += len(got) - 1
	}
	if len(rc.got) != len(want) {
		tb.Errorf("upstream got %d distinct batches, want %d", len(rc.got), len(want))
	}
	return duplicates
}

// runDispatcher starts d and returns a function that stops it and returns
// what Run returned.
func runDispatcher(tb testing.TB, d *Dispatcher) (stop func() error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(testDeadline):
				err = errors.New("Run did not return after its context was canceled")
			}
		})
		return err
	}
	tb.Cleanup(func() { _ = stop() })
	return stop
}

func counterValue(tb testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	tb.Helper()
	families, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	var sum float64
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if matches(m, labels) {
				switch {
				case m.GetCounter() != nil:
					sum += m.GetCounter().GetValue()
				case m.GetGauge() != nil:
					sum += m.GetGauge().GetValue()
				case m.GetHistogram() != nil:
					sum += float64(m.GetHistogram().GetSampleCount())
				}
			}
		}
	}
	return sum
}

func matches(m *dto.Metric, labels map[string]string) bool {
	for k, v := range labels {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == k && lp.GetValue() == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func TestDispatchDeliversAtLeastOnceThroughFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		batches     int
		failFirst   int64
		maxInFlight int
	}{
		{name: "a healthy upstream gets every batch", batches: 40, maxInFlight: 4},
		{name: "an upstream that fails 5 times then recovers gets every batch", batches: 40, failFirst: 5, maxInFlight: 4},
		{name: "an upstream that fails 60 times then recovers gets every batch", batches: 40, failFirst: 60, maxInFlight: 8},
		{name: "one batch in flight at a time still delivers everything", batches: 15, failFirst: 3, maxInFlight: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &recorder{failFirst: tt.failFirst}
			ts := httptest.NewTLSServer(rc)
			defer ts.Close()
			f, err := NewHTTP(config.ForwardHTTP{URL: ts.URL, CAFile: writeCA(t, ts), Timeout: config.Duration(10 * time.Second)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			q := openQueue(t)
			want := fill(t, q, tt.batches)
			reg := prometheus.NewRegistry()
			d := NewDispatcher(q, f, DispatchOptions{
				BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond,
				MaxInFlight: tt.maxInFlight, Registerer: reg,
			})
			stop := runDispatcher(t, d)
			poll.Until(t, "the queue to drain", func() bool { return q.Stats().Batches == 0 })
			if err := stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			dups := rc.check(t, want)
			t.Logf("%d batches, %d upstream failures, %d duplicate deliveries", tt.batches, tt.failFirst, dups)
			if got := counterValue(t, reg, "ingestd_forward_total", map[string]string{"upstream": "http", "result": ResultError}); got != float64(tt.failFirst) {
				t.Errorf("ingestd_forward_total{result=error} = %v, want %d", got, tt.failFirst)
			}
			if got := counterValue(t, reg, "ingestd_forward_total", map[string]string{"upstream": "http", "result": ResultOK}); got != float64(tt.batches+dups) {
				t.Errorf("ingestd_forward_total{result=ok} = %v, want %d", got, tt.batches+dups)
			}
			if got := counterValue(t, reg, "ingestd_forward_latency_seconds", nil); got != float64(rc.requests.Load()) {
				t.Errorf("latency observations = %v, want one per request (%d)", got, rc.requests.Load())
			}
			if got := counterValue(t, reg, "ingestd_forward_backoff_seconds", nil); got != 0 {
				t.Errorf("backoff gauge = %v after recovery, want 0", got)
			}
		})
	}
}

func TestDispatchSurvivesUpstreamOutage(t *testing.T) {
	t.Parallel()
	// The upstream sits behind a relay that is shut: connections to it are
	// cut, as to a stopped server, on an address that stays the test's own.
	rc := &recorder{}
	ts := httptest.NewServer(rc)
	defer ts.Close()
	up := relay.New(t)
	f, err := NewHTTP(config.ForwardHTTP{URL: "http://" + up.Addr() + "/ingest", Timeout: config.Duration(5 * time.Second)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	q := openQueue(t)
	reg := prometheus.NewRegistry()
	d := NewDispatcher(q, f, DispatchOptions{BackoffMin: time.Millisecond, BackoffMax: 10 * time.Millisecond, MaxInFlight: 4, Registerer: reg})
	stop := runDispatcher(t, d)

	want := fill(t, q, 20)
	failures := func() float64 {
		return counterValue(t, reg, "ingestd_forward_total", map[string]string{"result": ResultError})
	}
	poll.Until(t, "failed deliveries while the upstream is down", func() bool { return failures() >= 3 })
	if st := q.Stats(); st.Batches != 20 {
		t.Fatalf("queue holds %d batches during the outage, want all 20", st.Batches)
	}

	// The upstream comes back at the same address.
	up.Open(ts.Listener.Addr().String())
	more := fill(t, q, 5) // appended after recovery: woken by Notify
	for k, v := range more {
		want[k] = v
	}
	poll.Until(t, "the queue to drain", func() bool { return q.Stats().Batches == 0 })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	dups := rc.check(t, want)
	t.Logf("outage: %.0f failed attempts, %d duplicates", failures(), dups)
}

// gateForwarder blocks every Deliver until released, then applies verdict.
type gateForwarder struct {
	entered chan string
	release chan struct{}
	verdict func(b queue.Batch) error
	calls   atomic.Int64
}

func (g *gateForwarder) Name() string { return "gate" }
func (g *gateForwarder) Close() error { return nil }
func (g *gateForwarder) Deliver(ctx context.Context, b queue.Batch) error {
	g.calls.Add(1)
	if g.entered != nil {
		select {
		case g.entered <- b.ID:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if g.release != nil {
		select {
		case <-g.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if g.verdict != nil {
		return g.verdict(b)
	}
	return nil
}

func TestDispatchAcksOnlyAfterSuccess(t *testing.T) {
	t.Parallel()
	t.Run("a batch being delivered stays queued until the upstream acknowledges", func(t *testing.T) {
		q := openQueue(t)
		fill(t, q, 1)
		g := &gateForwarder{entered: make(chan string), release: make(chan struct{})}
		stop := runDispatcher(t, NewDispatcher(q, g, DispatchOptions{BackoffMin: time.Millisecond, BackoffMax: time.Millisecond}))
		select {
		case <-g.entered:
		case <-time.After(testDeadline):
			t.Fatal("Deliver was never called")
		}
		if st := q.Stats(); st.Batches != 1 {
			t.Fatalf("batch left the queue before the upstream acknowledged (%d queued)", st.Batches)
		}
		close(g.release)
		poll.Until(t, "the ack", func() bool { return q.Stats().Batches == 0 })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("batches an upstream keeps refusing are never deleted", func(t *testing.T) {
		q := openQueue(t)
		fill(t, q, 5)
		g := &gateForwarder{verdict: func(queue.Batch) error { return errors.New("refused") }}
		stop := runDispatcher(t, NewDispatcher(q, g, DispatchOptions{BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond}))
		poll.Until(t, "several attempts", func() bool { return g.calls.Load() >= 25 })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if st := q.Stats(); st.Batches != 5 {
			t.Fatalf("queue holds %d batches after refusals, want 5", st.Batches)
		}
	})
	t.Run("one refused batch does not hold back the others", func(t *testing.T) {
		q := openQueue(t)
		want := fill(t, q, 6)
		var poison string
		for id := range want {
			poison = max(poison, id)
		}
		g := &gateForwarder{verdict: func(b queue.Batch) error {
			if b.ID == poison {
				return errors.New("refused")
			}
			return nil
		}}
		stop := runDispatcher(t, NewDispatcher(q, g, DispatchOptions{BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond, MaxInFlight: 3}))
		poll.Until(t, "the deliverable batches to leave", func() bool { return q.Stats().Batches == 1 })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		onlyLeft(t, q, poison)
	})
	t.Run("one slow batch does not hold back the batches behind it", func(t *testing.T) {
		q := openQueue(t)
		want := fill(t, q, 20)
		var slow string
		for id := range want {
			if slow == "" || id < slow {
				slow = id // the oldest: the first one sent
			}
		}
		release := make(chan struct{})
		g := &gateForwarder{verdict: func(b queue.Batch) error {
			if b.ID == slow {
				<-release
			}
			return nil
		}}
		stop := runDispatcher(t, NewDispatcher(q, g, DispatchOptions{BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond, MaxInFlight: 4}))
		// 19 batches need five windows of 4; with the slow one holding a
		// slot, the other three slots must keep turning.
		poll.Until(t, "every batch but the slow one to leave", func() bool { return q.Stats().Batches == 1 })
		close(release)
		poll.Until(t, "the slow batch to leave", func() bool { return q.Stats().Batches == 0 })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if n := g.calls.Load(); n != 20 {
			t.Errorf("%d deliveries for 20 batches and no failure, want 20", n)
		}
	})
	t.Run("a batch delivered while stopping is still acknowledged", func(t *testing.T) {
		q := openQueue(t)
		fill(t, q, 1)
		g := &gateForwarder{}
		ctx, cancel := context.WithCancel(context.Background())
		g.verdict = func(queue.Batch) error { cancel(); return nil }
		if err := NewDispatcher(q, g, DispatchOptions{}).Run(ctx); err != nil {
			t.Fatal(err)
		}
		if st := q.Stats(); st.Batches != 0 {
			t.Fatalf("delivered batch still queued after shutdown (%d)", st.Batches)
		}
	})
}

func TestDispatchStopsWhenQueueCloses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// setup prepares the queue and the dispatcher and returns once
		// Run is in the state under test.
		setup func(t *testing.T, q *queue.Queue) (*Dispatcher, func())
	}{
		{"an idle dispatcher returns ErrClosed", func(t *testing.T, q *queue.Queue) (*Dispatcher, func()) {
			return NewDispatcher(q, &gateForwarder{}, DispatchOptions{}), func() {}
		}},
		{"a dispatcher in an hour's pause returns ErrClosed at once", func(t *testing.T, q *queue.Queue) (*Dispatcher, func()) {
			// Were the closed queue noticed only when the pause ends, the
			// test would hit its hang guard.
			fill(t, q, 4)
			g := &gateForwarder{verdict: func(queue.Batch) error { return errors.New("503 upstream down") }}
			reg := prometheus.NewRegistry()
			d := NewDispatcher(q, g, DispatchOptions{BackoffMin: time.Hour, BackoffMax: time.Hour, MaxInFlight: 2, Registerer: reg})
			d.randN = func(n int64) int64 { return n - 1 }
			return d, func() {
				poll.Until(t, "the pause", func() bool {
					return counterValue(t, reg, "ingestd_forward_backoff_seconds", nil) == time.Hour.Seconds()
				})
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := queue.Open(queue.Options{Dir: t.TempDir(), MaxBytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			d, ready := tt.setup(t, q)
			done := make(chan error, 1)
			go func() { done <- d.Run(context.Background()) }()
			ready()
			if err := q.Close(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if !errors.Is(err, queue.ErrClosed) {
					t.Fatalf("Run returned %v, want ErrClosed", err)
				}
			case <-time.After(testDeadline):
				t.Fatal("Run kept going after the queue closed")
			}
		})
	}
}

func TestBackoffDelayIsBounded(t *testing.T) {
	t.Parallel()
	const lo, hi = 100 * time.Millisecond, 5 * time.Second
	top := func(n int64) int64 { return n - 1 } // the largest draw
	tests := []struct {
		name       string
		attempt    int
		lo, hi     time.Duration
		retryAfter time.Duration
		want       time.Duration
	}{
		{name: "the first retry waits at most the minimum", attempt: 1, lo: lo, hi: hi, want: lo},
		{name: "the ceiling doubles with each attempt", attempt: 4, lo: lo, hi: hi, want: 8 * lo},
		{name: "the ceiling stops at the maximum", attempt: 7, lo: lo, hi: hi, want: hi},
		{name: "a huge attempt count does not overflow", attempt: 1 << 30, lo: lo, hi: hi, want: hi},
		{name: "a maximum near the largest duration does not overflow", attempt: 200, lo: time.Second, hi: math.MaxInt64 - 1, want: math.MaxInt64 - 1},
		{name: "a Retry-After above the maximum is capped", attempt: 1, lo: lo, hi: hi, retryAfter: time.Hour, want: hi},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := backoffDelay(tt.attempt, tt.lo, tt.hi, tt.retryAfter, top); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("a Retry-After below the maximum raises a short draw", func(t *testing.T) {
		if got := backoffDelay(1, lo, hi, 2*time.Second, func(int64) int64 { return 0 }); got != 2*time.Second {
			t.Fatalf("got %v, want 2s", got)
		}
	})
	t.Run("random draws stay within zero and the ceiling", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for attempt := 1; attempt < 200; attempt++ {
			ceiling := min(hi, lo<<min(attempt-1, 20))
			for range 50 {
				d := backoffDelay(attempt, lo, hi, 0, r.Int64N)
				if d < 0 || d > ceiling {
					t.Fatalf("attempt %d: delay %v outside [0, %v]", attempt, d, ceiling)
				}
			}
		}
	})
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      config.Forward
		wantNil  bool
		wantErr  string
		wantName string
	}{
		{name: "kind none builds no forwarder", cfg: config.Forward{Kind: "none"}, wantNil: true},
		{name: "an empty kind builds no forwarder", cfg: config.Forward{}, wantNil: true},
		{name: "kind file builds the file sink", cfg: config.Forward{Kind: "file", File: config.ForwardFile{Path: "SINK"}}, wantName: "file"},
		{name: "kind http builds the HTTP forwarder", cfg: config.Forward{Kind: "http", HTTP: config.ForwardHTTP{URL: "https://127.0.0.1:1/"}}, wantName: "http"},
		{name: "an mqtt error is returned as a nil forwarder", cfg: config.Forward{Kind: "mqtt"}, wantErr: "forward.mqtt."},
		{name: "a nats error is returned as a nil forwarder", cfg: config.Forward{Kind: "nats"}, wantErr: "forward.nats."},
		{name: "an unknown kind is refused", cfg: config.Forward{Kind: "carrier-pigeon"}, wantErr: `forward.kind: unknown kind "carrier-pigeon"; known: none, http, file, mqtt, nats`},
		{name: "an http error is returned as a nil forwarder", cfg: config.Forward{Kind: "http"}, wantErr: `forward.http.url: must be an http or https URL with a host (got "")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cfg.File.Path == "SINK" {
				tt.cfg.File.Path = t.TempDir() + "/sink.ndjson"
			}
			f, err := New(tt.cfg, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error starting with %q", err, tt.wantErr)
				}
				if f != nil {
					t.Fatalf("a non-nil forwarder (%T) came with the error", f)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantNil {
				if f != nil {
					t.Fatalf("got %T, want nil", f)
				}
				return
			}
			defer f.Close()
			if f.Name() != tt.wantName {
				t.Fatalf("Name = %q, want %q", f.Name(), tt.wantName)
			}
		})
	}
}

func TestDispatcherMetricsRegisterTwice(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	q := openQueue(t)
	NewDispatcher(q, &gateForwarder{}, DispatchOptions{Registerer: reg})
	d := NewDispatcher(q, &gateForwarder{}, DispatchOptions{Registerer: reg})
	d.m.total.WithLabelValues("gate", ResultOK).Inc()
	if got := counterValue(t, reg, "ingestd_forward_total", map[string]string{"upstream": "gate"}); got != 1 {
		t.Fatalf("second dispatcher's metrics are not the registered ones (got %v)", got)
	}
}

func TestDispatchIsolatesARefusedBatch(t *testing.T) {
	t.Parallel()
	t.Run("a batch the upstream keeps refusing does not slow the others", func(t *testing.T) {
		q := openQueue(t)
		want := fill(t, q, 300)
		var poison string
		for id := range want {
			if poison == "" || id < poison {
				poison = id // the oldest: first in every window
			}
		}
		g := &gateForwarder{verdict: func(b queue.Batch) error {
			if b.ID == poison {
				return errors.New("refused: not authorised for this topic")
			}
			return nil
		}}
		// A backoff of an hour, drawn at its maximum: were the refused
		// batch to hold the others back, they would wait an hour.
		d := NewDispatcher(q, g, DispatchOptions{BackoffMin: time.Hour, BackoffMax: time.Hour, MaxInFlight: 16})
		d.randN = func(n int64) int64 { return n - 1 }
		stop := runDispatcher(t, d)
		poll.Until(t, "the 299 deliverable batches to leave", func() bool { return q.Stats().Batches == 1 })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		onlyLeft(t, q, poison)
		if n := g.calls.Load(); n != 300 {
			t.Errorf("%d deliveries, want 300: the refused batch once, every other batch once", n)
		}
	})
	t.Run("an upstream refusing everything pauses all deliveries", func(t *testing.T) {
		q := openQueue(t)
		fill(t, q, 100)
		g := &gateForwarder{verdict: func(queue.Batch) error { return errors.New("503 upstream down") }}
		reg := prometheus.NewRegistry()
		d := NewDispatcher(q, g, DispatchOptions{BackoffMin: time.Hour, BackoffMax: time.Hour, MaxInFlight: 8, Registerer: reg})
		d.randN = func(n int64) int64 { return n - 1 }
		stop := runDispatcher(t, d)
		poll.Until(t, "the pause", func() bool {
			return counterValue(t, reg, "ingestd_forward_backoff_seconds", nil) == time.Hour.Seconds()
		})
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		// One window (8) was in flight when half of it had failed; no
		// further batch is tried during the pause.
		if n := g.calls.Load(); n > 8 {
			t.Errorf("%d deliveries tried against a failing upstream, want at most one window (8)", n)
		}
		if n := counterValue(t, reg, "ingestd_forward_retrying_batches", nil); n < 4 || n > 8 {
			t.Errorf("ingestd_forward_retrying_batches = %v, want the failed window (4 to 8)", n)
		}
		if st := q.Stats(); st.Batches != 100 {
			t.Errorf("%d batches queued, want all 100 kept", st.Batches)
		}
	})
}

func TestDispatchBoundsDeliveriesInFlight(t *testing.T) {
	t.Parallel()
	const window = 5
	q := openQueue(t)
	fill(t, q, 200)
	var cur, peak atomic.Int64
	g := &gateForwarder{verdict: func(queue.Batch) error {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		cur.Add(-1)
		return nil
	}}
	stop := runDispatcher(t, NewDispatcher(q, g, DispatchOptions{MaxInFlight: window}))
	poll.Until(t, "the queue to drain", func() bool { return q.Stats().Batches == 0 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p > window || p < 2 {
		t.Fatalf("at most %d deliveries were in flight at once, want between 2 and max_in_flight (%d)", p, window)
	}
}

// onlyLeft fails t unless the queue holds exactly the batch id.
func onlyLeft(t *testing.T, q *queue.Queue, id string) {
	t.Helper()
	left, err := q.Peek(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].ID != id {
		t.Fatalf("left in queue: %d batches, want only %s", len(left), id)
	}
}

func TestDispatchKeepsTheWindowTurningAroundASlowDelivery(t *testing.T) {
	t.Parallel()
	t.Run("a batch appended while another hangs is delivered at once", func(t *testing.T) {
		q := openQueue(t)
		want := fill(t, q, 1)
		var slow string
		for id := range want {
			slow = id
		}
		release := make(chan struct{})
		g := &gateForwarder{verdict: func(b queue.Batch) error {
			if b.ID == slow {
				<-release
			}
			return nil
		}}
		stop := runDispatcher(t, NewDispatcher(q, g, DispatchOptions{BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond, MaxInFlight: 4}))
		poll.Until(t, "the slow delivery to start", func() bool { return g.calls.Load() == 1 })
		fill(t, q, 1)
		poll.Until(t, "the new batch to be delivered beside the slow one", func() bool { return q.Stats().Batches == 1 })
		close(release)
		poll.Until(t, "the slow batch to leave", func() bool { return q.Stats().Batches == 0 })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a failed batch is retried when due while another hangs", func(t *testing.T) {
		q := openQueue(t)
		want := fill(t, q, 2)
		var slow string // the older one; the other fails once
		for id := range want {
			if slow == "" || id < slow {
				slow = id
			}
		}
		release := make(chan struct{})
		var flakyCalls atomic.Int64
		g := &gateForwarder{verdict: func(b queue.Batch) error {
			switch {
			case b.ID == slow:
				<-release
			case flakyCalls.Add(1) == 1:
				return errors.New("503 once")
			}
			return nil
		}}
		stop := runDispatcher(t, NewDispatcher(q, g, DispatchOptions{BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond, MaxInFlight: 4}))
		poll.Until(t, "the flaky batch to be retried and delivered beside the slow one", func() bool { return q.Stats().Batches == 1 })
		close(release)
		poll.Until(t, "the slow batch to leave", func() bool { return q.Stats().Batches == 0 })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if n := flakyCalls.Load(); n != 2 {
			t.Errorf("the flaky batch was sent %d times, want 2", n)
		}
	})
}

func TestReconnectCeiling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		backoffMax time.Duration
		want       time.Duration
	}{
		{name: "an unset backoff_max keeps the 10 s ceiling", want: reconnectMax},
		{name: "a shorter backoff_max lowers the ceiling", backoffMax: time.Second, want: time.Second},
		{name: "a longer backoff_max does not raise it", backoffMax: time.Minute, want: reconnectMax},
		{name: "the ceiling never falls below the first delay", backoffMax: time.Millisecond, want: reconnectMin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reconnectCeiling(tt.backoffMax); got != tt.want {
				t.Fatalf("reconnectCeiling(%s) = %s, want %s", tt.backoffMax, got, tt.want)
			}
		})
	}
}
