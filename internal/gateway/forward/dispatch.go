package forward

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hardgate/hardgate/internal/gateway/queue"
)

// Dispatch defaults, used when a DispatchOptions field is zero.
const (
	DefaultBackoffMin  = 200 * time.Millisecond
	DefaultBackoffMax  = 30 * time.Second
	DefaultMaxInFlight = 16
)

// ackTimeout bounds the Ack of delivered batches; it is not tied to the
// Run context so that batches delivered just before shutdown are still
// deleted rather than delivered again.
const ackTimeout = 10 * time.Second

// Metric result label values of ingestd_forward_total.
const (
	ResultOK    = "ok"
	ResultError = "error"
)

// DispatchOptions configures a Dispatcher.
type DispatchOptions struct {
	// BackoffMin is the first retry ceiling (default 200ms).
	BackoffMin time.Duration
	// BackoffMax caps every retry delay (default 30s).
	BackoffMax time.Duration
	// MaxInFlight bounds the batches being delivered at once (default 16).
	MaxInFlight int
	// Logger receives delivery failures; nil discards them.
	Logger *slog.Logger
	// Registerer receives the forward metrics; nil leaves them unregistered.
	Registerer prometheus.Registerer
}

// Dispatcher moves batches from the queue to a Forwarder with at-least-once
// semantics. It keeps up to MaxInFlight deliveries going at once as a
// sliding window: as deliveries finish it tops the window up with the
// oldest batches not yet in it, so one slow batch holds up only its own
// slot. It acks (deletes) only the batches the upstream acknowledged, in
// groups that share one commit.
//
// A failed ack (the store cannot commit, for example because its
// filesystem is full) backs off the same way: the delivered batches keep
// their place outside the window, so they are not sent again, every
// delivery pauses, and the deletion is retried after the backoff until
// the store recovers.
//
// Failures back off at two levels, each exponential with full jitter and
// capped at BackoffMax (an upstream's Retry-After can lengthen a wait but
// never past BackoffMax). A failed batch waits out its own backoff while
// the others keep flowing, so one batch the upstream keeps refusing (an ACL
// on one device's topic, a batch over the broker's size limit) stays queued
// and retried without slowing the rest. When failures pile up with no
// success between them (half a window in a row: the upstream is down), the
// whole dispatcher pauses, longer with each pause, until a delivery
// succeeds again.
type Dispatcher struct {
	q    store
	f    Forwarder
	opts DispatchOptions
	log  *slog.Logger
	m    *dispatchMetrics

	// randN returns a uniform value in [0, n); replaced in tests.
	randN func(n int64) int64
	// now is the clock; replaced in tests.
	now func() time.Time
}

// store is what the dispatcher needs of the queue (*queue.Queue); tests
// put a failing one in its place.
type store interface {
	PeekExcept(ctx context.Context, max int, skip map[string]struct{}) ([]queue.Batch, error)
	Ack(ctx context.Context, ids ...string) error
	Notify() <-chan struct{}
}

type dispatchMetrics struct {
	total       *prometheus.CounterVec
	ackFailures *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	backoff     *prometheus.GaugeVec
	retrying    *prometheus.GaugeVec
}

// NewDispatcher returns a dispatcher from q to f. It does not own either:
// the caller closes them after Run returns.
func NewDispatcher(q *queue.Queue, f Forwarder, opts DispatchOptions) *Dispatcher {
	if opts.BackoffMin <= 0 {
		opts.BackoffMin = DefaultBackoffMin
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = DefaultBackoffMax
	}
	opts.BackoffMax = max(opts.BackoffMax, opts.BackoffMin)
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = DefaultMaxInFlight
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{
		q:     q,
		f:     f,
		opts:  opts,
		log:   logger.With("upstream", f.Name()),
		m:     newDispatchMetrics(opts.Registerer),
		randN: rand.Int64N,
		now:   time.Now,
	}
}

func newDispatchMetrics(r prometheus.Registerer) *dispatchMetrics {
	return &dispatchMetrics{
		total: register(r, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ingestd_forward_total",
			Help: "Batch delivery attempts to the upstream, by result (ok, error).",
		}, []string{"upstream", "result"})),
		latency: register(r, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ingestd_forward_latency_seconds",
			Help:    "Duration of one batch delivery attempt.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"upstream"})),
		backoff: register(r, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ingestd_forward_backoff_seconds",
			Help: "Current pause of all deliveries after failures in a row; 0 while deliveries succeed.",
		}, []string{"upstream"})),
		retrying: register(r, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ingestd_forward_retrying_batches",
			Help: "Queued batches whose last delivery failed, each waiting out its own backoff.",
		}, []string{"upstream"})),
		ackFailures: register(r, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ingestd_forward_ack_failures_total",
			Help: "Failed deletions of delivered batches from the queue (the store could not commit); deliveries pause until one succeeds.",
		}, []string{"upstream"})),
	}
}

// register adds c to r, reusing a collector already registered under the
// same description (a second dispatcher in the same process).
func register[C prometheus.Collector](r prometheus.Registerer, c C) C {
	if r == nil {
		return c
	}
	if err := r.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

// Run delivers until ctx is done, then returns nil. It returns an error only
// when the queue is closed under it. Batches delivered when ctx ends are
// still acknowledged. The state of the run and its steps are in window.go.
func (d *Dispatcher) Run(ctx context.Context) error {
	w := d.newWindow(ctx)
	for {
		if ctx.Err() != nil || w.fatal != nil {
			return w.finish()
		}
		now := d.now()
		// Delivered batches whose deletion failed are deleted first,
		// once their backoff is over.
		if w.ack(); w.fatal != nil {
			continue
		}
		paused := w.paused(now)
		var due time.Time
		if !paused && w.hasRoom() {
			var again bool
			if due, again = w.fill(now); again {
				continue
			}
		}
		w.wait(paused, due)
	}
}

// deliver sends one batch and reports the outcome on done.
func (d *Dispatcher) deliver(ctx context.Context, b queue.Batch, done chan<- outcome) {
	name := d.f.Name()
	start := time.Now()
	err := d.f.Deliver(ctx, b)
	if err == nil || ctx.Err() == nil {
		// A failure during shutdown is not an upstream verdict: not counted.
		d.m.latency.WithLabelValues(name).Observe(time.Since(start).Seconds())
		result := ResultOK
		if err != nil {
			result = ResultError
		}
		d.m.total.WithLabelValues(name, result).Inc()
	}
	done <- outcome{id: b.ID, err: err}
}
