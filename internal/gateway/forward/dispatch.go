package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
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
// semantics: it peeks the oldest batches, delivers up to MaxInFlight of them
// concurrently and acks only those the upstream acknowledged. After any
// failure it waits an exponential backoff with full jitter, capped at
// BackoffMax; an upstream's Retry-After can lengthen a wait but never past
// BackoffMax.
type Dispatcher struct {
	q    *queue.Queue
	f    Forwarder
	opts DispatchOptions
	log  *slog.Logger
	m    *dispatchMetrics

	// randN returns a uniform value in [0, n); replaced in tests.
	randN func(n int64) int64
}

type dispatchMetrics struct {
	total   *prometheus.CounterVec
	latency *prometheus.HistogramVec
	backoff *prometheus.GaugeVec
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
			Help: "Current retry delay after a failed delivery; 0 while deliveries succeed.",
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
// still acknowledged.
func (d *Dispatcher) Run(ctx context.Context) error {
	name := d.f.Name()
	backoffGauge := d.m.backoff.WithLabelValues(name)
	backoffGauge.Set(0)
	attempt := 0
	for {
		if ctx.Err() != nil {
			return nil
		}
		batches, err := d.q.Peek(ctx, d.opts.MaxInFlight)
		switch {
		case errors.Is(err, queue.ErrClosed):
			return fmt.Errorf("dispatch to %s: %w", name, err)
		case ctx.Err() != nil:
			return nil
		case err != nil:
			attempt++
			delay := d.delay(attempt, 0)
			d.log.Error("dispatch: reading the queue failed", "err", err, "attempt", attempt, "retry_in", delay)
			backoffGauge.Set(delay.Seconds())
			if !sleep(ctx, delay) {
				return nil
			}
			continue
		case len(batches) == 0:
			backoffGauge.Set(0)
			select {
			case <-ctx.Done():
				return nil
			case <-d.q.Notify():
			}
			continue
		}

		delivered, failures, firstErr, retryAfter := d.deliverAll(ctx, batches)
		if len(delivered) > 0 {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
			err := d.q.Ack(actx, delivered...)
			cancel()
			if errors.Is(err, queue.ErrClosed) {
				return fmt.Errorf("dispatch to %s: ack: %w", name, err)
			}
			if err != nil {
				// The batches stay queued and are delivered again: a
				// duplicate, never a loss.
				d.log.Error("dispatch: ack failed; delivered batches will be sent again", "batches", len(delivered), "err", err)
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if failures == 0 {
			attempt = 0
			backoffGauge.Set(0)
			continue
		}
		attempt++
		delay := d.delay(attempt, retryAfter)
		backoffGauge.Set(delay.Seconds())
		d.log.Warn("dispatch: delivery failed; retrying with backoff",
			"failed", failures, "delivered", len(delivered), "attempt", attempt, "retry_in", delay, "err", firstErr)
		if !sleep(ctx, delay) {
			return nil
		}
	}
}

// deliverAll delivers batches concurrently (there are at most MaxInFlight)
// and returns the ids the upstream acknowledged, the number of failures,
// the first error and the longest Retry-After among them.
func (d *Dispatcher) deliverAll(ctx context.Context, batches []queue.Batch) (delivered []string, failures int, firstErr error, retryAfter time.Duration) {
	name := d.f.Name()
	errs := make([]error, len(batches))
	var wg sync.WaitGroup
	for i, b := range batches {
		wg.Go(func() {
			start := time.Now()
			err := d.f.Deliver(ctx, b)
			if err != nil && ctx.Err() != nil {
				// Shutdown, not an upstream verdict: not counted.
				errs[i] = err
				return
			}
			d.m.latency.WithLabelValues(name).Observe(time.Since(start).Seconds())
			if err != nil {
				d.m.total.WithLabelValues(name, ResultError).Inc()
			} else {
				d.m.total.WithLabelValues(name, ResultOK).Inc()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			delivered = append(delivered, batches[i].ID)
			continue
		}
		failures++
		if firstErr == nil {
			firstErr = err
		}
		retryAfter = max(retryAfter, RetryAfterOf(err))
	}
	return delivered, failures, firstErr, retryAfter
}

// delay is the wait before retry number attempt (1-based): full jitter,
// uniform in [0, min(BackoffMax, BackoffMin·2^(attempt-1))]. An upstream's
// Retry-After raises it, but never above BackoffMax.
func (d *Dispatcher) delay(attempt int, retryAfter time.Duration) time.Duration {
	return backoffDelay(attempt, d.opts.BackoffMin, d.opts.BackoffMax, retryAfter, d.randN)
}

func backoffDelay(attempt int, lo, hi, retryAfter time.Duration, randN func(int64) int64) time.Duration {
	ceiling := lo
	for i := 1; i < attempt && ceiling < hi; i++ {
		if ceiling > hi/2 {
			ceiling = hi
			break
		}
		ceiling *= 2
	}
	ceiling = min(ceiling, hi)
	delay := time.Duration(randN(int64(ceiling) + 1))
	return min(max(delay, retryAfter), hi)
}

// sleep waits for d or ctx; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
