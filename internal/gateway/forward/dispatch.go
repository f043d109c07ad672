package forward

import (
	"context"
	"errors"
	"fmt"
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
	q    *queue.Queue
	f    Forwarder
	opts DispatchOptions
	log  *slog.Logger
	m    *dispatchMetrics

	// randN returns a uniform value in [0, n); replaced in tests.
	randN func(n int64) int64
}

type dispatchMetrics struct {
	total    *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	backoff  *prometheus.GaugeVec
	retrying *prometheus.GaugeVec
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
			Help: "Current pause of all deliveries after failures in a row; 0 while deliveries succeed.",
		}, []string{"upstream"})),
		retrying: register(r, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ingestd_forward_retrying_batches",
			Help: "Queued batches whose last delivery failed, each waiting out its own backoff.",
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

// outcome is the end of one delivery.
type outcome struct {
	id  string
	err error
}

// retry is the backoff state of a batch whose last delivery failed.
type retry struct {
	attempts int
	next     time.Time
}

// Run delivers until ctx is done, then returns nil. It returns an error only
// when the queue is closed under it. Batches delivered when ctx ends are
// still acknowledged.
func (d *Dispatcher) Run(ctx context.Context) error {
	name := d.f.Name()
	backoffGauge := d.m.backoff.WithLabelValues(name)
	retryingGauge := d.m.retrying.WithLabelValues(name)
	backoffGauge.Set(0)
	retryingGauge.Set(0)
	// pauseAfter failures in a row, with no success between them, mean the
	// upstream itself is failing rather than one batch.
	pauseAfter := max(1, d.opts.MaxInFlight/2)
	var (
		busy        = map[string]struct{}{} // being delivered
		retrying    = map[string]*retry{}   // failed, waiting out their backoff
		done        = make(chan outcome, d.opts.MaxInFlight)
		acked       []string // delivered, not yet deleted
		failStreak  int      // failures since the last success
		pauses      int      // pauses since the last success
		pauseUntil  time.Time
		pausedShown bool // the backoff gauge shows a pause
		fatal       error
	)
	// ack deletes the delivered batches in one group. Its context is not
	// tied to ctx, so that batches delivered just before shutdown are
	// deleted rather than delivered again.
	ack := func() {
		if len(acked) == 0 {
			return
		}
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
		err := d.q.Ack(actx, acked...)
		cancel()
		switch {
		case errors.Is(err, queue.ErrClosed):
			fatal = fmt.Errorf("dispatch to %s: ack: %w", name, err)
		case err != nil:
			// The batches stay queued and are delivered again: a
			// duplicate, never a loss.
			d.log.Error("dispatch: ack failed; delivered batches will be sent again", "batches", len(acked), "err", err)
		}
		acked = acked[:0]
	}
	pause := func(now time.Time, retryAfter time.Duration, err error) {
		pauses++
		delay := d.delay(pauses, retryAfter)
		pauseUntil = now.Add(delay)
		failStreak = 0
		backoffGauge.Set(delay.Seconds())
		pausedShown = true
		d.log.Warn("dispatch: deliveries failing; pausing all deliveries",
			"pause", pauses, "retry_in", delay, "retrying_batches", len(retrying), "err", err)
	}
	// settle records one finished delivery.
	settle := func(o outcome) {
		delete(busy, o.id)
		if o.err == nil {
			acked = append(acked, o.id)
			delete(retrying, o.id)
			failStreak, pauses = 0, 0
			if time.Now().After(pauseUntil) {
				backoffGauge.Set(0)
			}
			retryingGauge.Set(float64(len(retrying)))
			return
		}
		if ctx.Err() != nil {
			return // shutdown, not an upstream verdict
		}
		now := time.Now()
		r := retrying[o.id]
		if r == nil {
			r = &retry{}
			retrying[o.id] = r
		}
		r.attempts++
		retryAfter := RetryAfterOf(o.err)
		delay := d.delay(r.attempts, retryAfter)
		r.next = now.Add(delay)
		retryingGauge.Set(float64(len(retrying)))
		if r.attempts&(r.attempts-1) == 0 { // 1, 2, 4, 8...: a refused batch stays visible without flooding the log
			d.log.Warn("dispatch: delivery failed; the batch stays queued and is retried with backoff",
				"batch", o.id, "attempt", r.attempts, "retry_in", delay, "err", o.err)
		}
		if now.Before(pauseUntil) {
			return // already paused: the deliveries still in flight do not pause again
		}
		failStreak++
		if failStreak >= pauseAfter {
			pause(now, retryAfter, o.err)
		}
	}
	// collect settles every delivery that has already finished.
	collect := func() {
		for {
			select {
			case o := <-done:
				settle(o)
			default:
				return
			}
		}
	}
	// skip is the set PeekExcept passes over: batches in flight and those
	// still waiting out their backoff. It also returns the earliest time a
	// waiting batch becomes due (zero when none waits).
	skip := func(now time.Time) (map[string]struct{}, time.Time) {
		var due time.Time
		if len(retrying) == 0 {
			return busy, due
		}
		out := make(map[string]struct{}, len(busy)+len(retrying))
		for id := range busy {
			out[id] = struct{}{}
		}
		for id, r := range retrying {
			if r.next.After(now) {
				out[id] = struct{}{}
				if due.IsZero() || r.next.Before(due) {
					due = r.next
				}
			}
		}
		return out, due
	}

	for {
		if ctx.Err() != nil || fatal != nil {
			for len(busy) > 0 {
				settle(<-done)
			}
			ack()
			return fatal
		}
		now := time.Now()
		var due time.Time
		paused := now.Before(pauseUntil)
		if !paused && pausedShown {
			backoffGauge.Set(0) // the pause is over
			pausedShown = false
		}
		// Top the window up once at least half of it is free (or it is
		// empty), so that a busy upstream does not cost a query per batch.
		free := d.opts.MaxInFlight - len(busy)
		if !paused && (len(busy) == 0 || free >= max(1, d.opts.MaxInFlight/2)) {
			var except map[string]struct{}
			except, due = skip(now)
			batches, err := d.q.PeekExcept(ctx, free, except)
			switch {
			case errors.Is(err, queue.ErrClosed):
				fatal = fmt.Errorf("dispatch to %s: %w", name, err)
				continue
			case ctx.Err() != nil:
				continue
			case err != nil:
				if len(busy) > 0 {
					break // read again when a delivery finishes
				}
				d.log.Error("dispatch: reading the queue failed", "err", err)
				pause(now, 0, err)
				continue
			}
			for _, b := range batches {
				busy[b.ID] = struct{}{}
				go d.deliver(ctx, b, done)
			}
		}
		if len(busy) == 0 {
			ack()
			if fatal != nil {
				continue
			}
		}
		// Wait for whichever comes first: a delivery finishing; new
		// batches or the first retry falling due, while the window has
		// room to take them (so a slow delivery holds only its own slot);
		// the end of a pause; shutdown.
		free = d.opts.MaxInFlight - len(busy)
		var (
			finished <-chan outcome
			appended <-chan struct{}
			wake     time.Time
		)
		if len(busy) > 0 {
			finished = done
		}
		switch {
		case paused:
			// New batches wait for the pause to end; the channel is
			// still watched so that a closing queue ends Run at once.
			appended, wake = d.q.Notify(), pauseUntil
		case len(busy) == 0 || free >= max(1, d.opts.MaxInFlight/2):
			appended, wake = d.q.Notify(), due
		}
		var (
			timer *time.Timer
			tick  <-chan time.Time
		)
		if !wake.IsZero() {
			timer = time.NewTimer(time.Until(wake))
			tick = timer.C
		}
		select {
		case o := <-finished:
			// Take every other delivery that has finished too, and
			// delete them in one commit while the rest are in flight.
			settle(o)
			collect()
			ack()
		case _, ok := <-appended:
			if !ok {
				fatal = fmt.Errorf("dispatch to %s: %w", name, queue.ErrClosed)
			}
		case <-tick:
		case <-ctx.Done():
		}
		if timer != nil {
			timer.Stop()
		}
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
