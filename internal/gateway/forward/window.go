package forward

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hardgate/hardgate/internal/gateway/queue"
)

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

// window is the state of one Run: the deliveries in flight, the batches
// waiting out their own backoff, the delivered batches not yet deleted,
// and the pause of all deliveries after failures in a row. Only Run's
// goroutine touches it; deliveries report back on done.
type window struct {
	d    *Dispatcher
	ctx  context.Context
	name string

	backoffGauge  prometheus.Gauge
	retryingGauge prometheus.Gauge
	ackFailed     prometheus.Counter

	// pauseAfter failures in a row, with no success between them, mean
	// the upstream itself is failing rather than one batch.
	pauseAfter int
	// refill is how many free slots make the window worth topping up, so
	// that a busy upstream does not cost a queue read per batch.
	refill int

	busy        map[string]struct{} // being delivered
	retrying    map[string]*retry   // failed, waiting out their backoff
	done        chan outcome
	acked       []string  // delivered, not yet deleted
	ackFailures int       // failed deletions in a row
	ackRetry    time.Time // when a failed deletion is tried again
	failStreak  int       // failures since the last success
	pauses      int       // pauses since the last success
	pauseUntil  time.Time
	pausedShown bool  // the backoff gauge shows a pause
	fatal       error // the queue closed: Run ends with it
}

func (d *Dispatcher) newWindow(ctx context.Context) *window {
	name := d.f.Name()
	w := &window{
		d:             d,
		ctx:           ctx,
		name:          name,
		backoffGauge:  d.m.backoff.WithLabelValues(name),
		retryingGauge: d.m.retrying.WithLabelValues(name),
		ackFailed:     d.m.ackFailures.WithLabelValues(name),
		pauseAfter:    max(1, d.opts.MaxInFlight/2),
		refill:        max(1, d.opts.MaxInFlight/2),
		busy:          map[string]struct{}{},
		retrying:      map[string]*retry{},
		done:          make(chan outcome, d.opts.MaxInFlight),
	}
	w.backoffGauge.Set(0)
	w.retryingGauge.Set(0)
	return w
}

// free is the number of deliveries the window can still start.
func (w *window) free() int { return w.d.opts.MaxInFlight - len(w.busy) }

// hasRoom reports whether the window is empty or has at least refill free
// slots: the moments it is topped up.
func (w *window) hasRoom() bool { return len(w.busy) == 0 || w.free() >= w.refill }

// paused reports whether deliveries are paused at now, and clears the
// backoff gauge once a pause is over.
func (w *window) paused(now time.Time) bool {
	if now.Before(w.pauseUntil) {
		return true
	}
	if w.pausedShown {
		w.backoffGauge.Set(0)
		w.pausedShown = false
	}
	return false
}

// fill starts deliveries of the oldest batches that are neither in flight
// nor waiting out their backoff, up to the free slots. It returns the
// earliest time a waiting batch falls due (zero when none waits), and
// again when Run should go round its loop at once (the queue closed, ctx
// ended, or reading the queue failed with nothing in flight: then it
// pauses).
func (w *window) fill(now time.Time) (due time.Time, again bool) {
	except, due := w.skip(now)
	batches, err := w.d.q.PeekExcept(w.ctx, w.free(), except)
	switch {
	case errors.Is(err, queue.ErrClosed):
		w.fatal = fmt.Errorf("dispatch to %s: %w", w.name, err)
		return due, true
	case w.ctx.Err() != nil:
		return due, true
	case err != nil:
		if len(w.busy) > 0 {
			return due, false // read again when a delivery finishes
		}
		w.d.log.Error("dispatch: reading the queue failed", "err", err)
		w.pause(now, 0, err)
		return due, true
	}
	for _, b := range batches {
		w.start(b)
	}
	return due, false
}

// start delivers b in its own goroutine; the outcome arrives on done.
func (w *window) start(b queue.Batch) {
	w.busy[b.ID] = struct{}{}
	go w.d.deliver(w.ctx, b, w.done)
}

// skip is the set PeekExcept passes over: batches in flight, delivered
// batches not yet deleted, and those still waiting out their backoff. It
// also returns the earliest time a waiting batch becomes due (zero when
// none waits).
func (w *window) skip(now time.Time) (map[string]struct{}, time.Time) {
	var due time.Time
	if len(w.retrying) == 0 && len(w.acked) == 0 {
		return w.busy, due
	}
	out := make(map[string]struct{}, len(w.busy)+len(w.acked)+len(w.retrying))
	for id := range w.busy {
		out[id] = struct{}{}
	}
	for _, id := range w.acked {
		out[id] = struct{}{}
	}
	for id, r := range w.retrying {
		if r.next.After(now) {
			out[id] = struct{}{}
			if due.IsZero() || r.next.Before(due) {
				due = r.next
			}
		}
	}
	return out, due
}

// settle records one finished delivery: a success joins the group to
// acknowledge and ends any failure streak; a failure gives its batch its
// own backoff and, after pauseAfter failures in a row, pauses everything.
func (w *window) settle(o outcome) {
	delete(w.busy, o.id)
	now := w.d.now()
	if o.err == nil {
		w.acked = append(w.acked, o.id)
		delete(w.retrying, o.id)
		w.failStreak, w.pauses = 0, 0
		if now.After(w.pauseUntil) {
			w.backoffGauge.Set(0)
		}
		w.retryingGauge.Set(float64(len(w.retrying)))
		return
	}
	if w.ctx.Err() != nil {
		return // shutdown, not an upstream verdict
	}
	r := w.retrying[o.id]
	if r == nil {
		r = &retry{}
		w.retrying[o.id] = r
	}
	r.attempts++
	retryAfter := RetryAfterOf(o.err)
	delay := w.d.delay(r.attempts, retryAfter)
	r.next = now.Add(delay)
	w.retryingGauge.Set(float64(len(w.retrying)))
	if r.attempts&(r.attempts-1) == 0 { // 1, 2, 4, 8...: a refused batch stays visible without flooding the log
		w.d.log.Warn("dispatch: delivery failed; the batch stays queued and is retried with backoff",
			"batch", o.id, "attempt", r.attempts, "retry_in", delay, "err", o.err)
	}
	if now.Before(w.pauseUntil) {
		return // already paused: the deliveries still in flight do not pause again
	}
	w.failStreak++
	if w.failStreak >= w.pauseAfter {
		w.pause(now, retryAfter, o.err)
	}
}

// collect settles every delivery that has already finished.
func (w *window) collect() {
	for {
		select {
		case o := <-w.done:
			w.settle(o)
		default:
			return
		}
	}
}

// pause stops every new delivery for the next backoff delay, longer with
// each pause since the last success.
func (w *window) pause(now time.Time, retryAfter time.Duration, err error) {
	w.pauses++
	delay := w.d.delay(w.pauses, retryAfter)
	w.pauseUntil = now.Add(delay)
	w.failStreak = 0
	w.backoffGauge.Set(delay.Seconds())
	w.pausedShown = true
	w.d.log.Warn("dispatch: deliveries failing; pausing all deliveries",
		"pause", w.pauses, "retry_in", delay, "retrying_batches", len(w.retrying), "err", err)
}

// ack deletes the delivered batches in one group. Its context is not tied
// to Run's, so that batches delivered just before shutdown are deleted
// rather than delivered again. A failed deletion keeps the group (its
// batches stay out of the window, so they are not sent again), raises
// ingestd_forward_ack_failures_total, logs, and pauses every delivery for
// a growing backoff; ack does nothing until that backoff is over.
func (w *window) ack() {
	if len(w.acked) == 0 || w.d.now().Before(w.ackRetry) {
		return
	}
	w.deleteAcked()
}

// deleteAcked tries the deletion of the acknowledged group now.
func (w *window) deleteAcked() {
	actx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), ackTimeout)
	err := w.d.q.Ack(actx, w.acked...)
	cancel()
	switch {
	case err == nil:
		if w.ackFailures > 0 {
			w.d.log.Info("dispatch: deleting delivered batches works again; deliveries resume", "batches", len(w.acked), "failures", w.ackFailures)
		}
		w.acked, w.ackFailures, w.ackRetry = w.acked[:0], 0, time.Time{}
	case errors.Is(err, queue.ErrClosed):
		w.fatal = fmt.Errorf("dispatch to %s: ack: %w", w.name, err)
	default:
		w.ackFailures++
		w.ackFailed.Inc()
		now := w.d.now()
		delay := w.d.delay(w.ackFailures, 0)
		w.ackRetry = now.Add(delay)
		if w.ackRetry.After(w.pauseUntil) {
			w.pauseUntil = w.ackRetry
			w.backoffGauge.Set(delay.Seconds())
			w.pausedShown = true
		}
		w.d.log.Error("dispatch: deleting delivered batches from the queue failed; deliveries paused, the deletion is retried with backoff",
			"batches", len(w.acked), "attempt", w.ackFailures, "retry_in", delay, "err", err)
	}
}

// wait blocks until whichever comes first: a delivery finishing (settled,
// with every other finished one, and acknowledged in one commit while the
// rest are in flight); new batches or the first retry falling due, while
// the window has room to take them (so a slow delivery holds only its own
// slot); the end of a pause; shutdown. The queue's Notify channel is
// watched even during a pause, so that a closing queue ends Run at once.
func (w *window) wait(paused bool, due time.Time) {
	var (
		finished <-chan outcome
		appended <-chan struct{}
		wake     time.Time
	)
	if len(w.busy) > 0 {
		finished = w.done
	}
	switch {
	case paused:
		appended, wake = w.d.q.Notify(), w.pauseUntil
	case w.hasRoom():
		appended, wake = w.d.q.Notify(), due
	}
	var tick <-chan time.Time
	if !wake.IsZero() {
		timer := time.NewTimer(wake.Sub(w.d.now()))
		defer timer.Stop()
		tick = timer.C
	}
	select {
	case o := <-finished:
		w.settle(o)
		w.collect()
		w.ack()
	case _, ok := <-appended:
		if !ok {
			w.fatal = fmt.Errorf("dispatch to %s: %w", w.name, queue.ErrClosed)
		}
	case <-tick:
	case <-w.ctx.Done():
	}
}

// finish waits for the deliveries in flight, tries once more to delete
// what was delivered (batches left undeleted are sent again after a
// restart: a duplicate, never a loss) and returns Run's result.
func (w *window) finish() error {
	for len(w.busy) > 0 {
		w.settle(<-w.done)
	}
	if len(w.acked) > 0 && w.fatal == nil {
		w.deleteAcked()
	}
	return w.fatal
}
