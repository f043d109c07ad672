package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hardgate/hardgate/internal/audit"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

// ErrDeadLetter is returned by Dispatcher.Audit for a job dead-lettered by
// an agent.
var ErrDeadLetter = errors.New("job dead-lettered")

// ErrAgentError is returned by Dispatcher.Audit when the agent could not
// run the audit (an invalid spec, a secret missing on the agent's host).
var ErrAgentError = errors.New("the agent could not run the audit")

// Dispatcher is the server side: it schedules jobs into the site's
// subject and consumes the results and dead letters. Each result is
// handed to OnResult (which stores it, idempotently by audit id) and
// acked only after OnResult returned nil, so a result is never lost;
// a redelivered one is handed over again, with the same audit id.
type Dispatcher struct {
	// JS is the server account's JetStream.
	JS jetstream.JetStream
	// Topology is provisioned by Start.
	Topology Topology
	// OnResult stores a result; an error leaves the result in the stream
	// for a later try. Called one at a time.
	OnResult func(ctx context.Context, rm *ResultMsg) error
	// OnDead is told about a dead letter (optional).
	OnDead func(ctx context.Context, d *DeadLetter)
	// Logger receives the dispatcher's log; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// NewID returns job and audit ids; nil is audit.NewAuditID.
	NewID func() string

	mu      sync.Mutex
	waiters map[string]chan waited
	stops   []jetstream.ConsumeContext
}

type waited struct {
	rm   *ResultMsg
	dead *DeadLetter
}

// Start provisions the topology and starts consuming results and dead
// letters until Stop.
func (d *Dispatcher) Start(ctx context.Context) error {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.NewID == nil {
		d.NewID = audit.NewAuditID
	}
	d.waiters = map[string]chan waited{}
	if err := Provision(ctx, d.JS, d.Topology); err != nil {
		return err
	}
	for _, c := range []struct {
		stream, name string
		handle       func(jetstream.Msg)
	}{{ResultsStream, ResultsConsumer, d.handleResult}, {DeadStream, DeadConsumer, d.handleDead}} {
		cons, err := d.JS.Consumer(ctx, c.stream, c.name)
		if err != nil {
			return errNotProvisioned("consumer "+c.name, err)
		}
		cc, err := cons.Consume(c.handle, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			d.Logger.Debug("consume", "consumer", c.name, "err", err)
		}))
		if err != nil {
			return fmt.Errorf("consume %s: %w", c.name, err)
		}
		d.stops = append(d.stops, cc)
	}
	return nil
}

// Stop stops consuming (Audit calls waiting stay until their context ends).
func (d *Dispatcher) Stop() {
	for _, cc := range d.stops {
		cc.Stop()
	}
}

// Submit publishes a job auditing t at site and returns it once JetStream
// has stored it.
func (d *Dispatcher) Submit(ctx context.Context, site string, labels map[string]string, t *spec.Target) (*Job, error) {
	job, err := NewJob("job-"+d.NewID(), d.NewID(), site, labels, t, d.Now())
	if err != nil {
		return nil, err
	}
	if err := d.publish(ctx, job); err != nil {
		return nil, err
	}
	return job, nil
}

func (d *Dispatcher) publish(ctx context.Context, job *Job) error {
	data, err := EncodeJob(job)
	if err != nil {
		return fmt.Errorf("encode job: %w", err)
	}
	if _, err := d.JS.Publish(ctx, JobSubject(job.Site), data, jetstream.WithMsgID(job.JobID)); err != nil {
		return fmt.Errorf("publish job for site %s: %w", job.Site, err)
	}
	return nil
}

// Audit schedules t at site and waits for its result (already stored by
// OnResult when it returns), its dead letter, or ctx.
func (d *Dispatcher) Audit(ctx context.Context, site string, labels map[string]string, t *spec.Target) (*result.Result, error) {
	job, err := NewJob("job-"+d.NewID(), d.NewID(), site, labels, t, d.Now())
	if err != nil {
		return nil, err
	}
	ch := make(chan waited, 1)
	d.mu.Lock()
	d.waiters[job.JobID] = ch
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.waiters, job.JobID)
		d.mu.Unlock()
	}()
	if err := d.publish(ctx, job); err != nil {
		return nil, err
	}
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("job %s at site %s: %w", job.JobID, site, context.Cause(ctx))
	case w := <-ch:
		switch {
		case w.dead != nil:
			return nil, fmt.Errorf("job %s at site %s: %w after %d attempts: %s", job.JobID, site, ErrDeadLetter, w.dead.Attempts, w.dead.Reason)
		case w.rm.Outcome == OutcomeError:
			return nil, fmt.Errorf("%w (agent %s of site %s): %s", ErrAgentError, w.rm.Agent, site, w.rm.Error)
		}
		return w.rm.Result, nil
	}
}

// Waiting reports whether an Audit call of this process waits for the
// result of jobID. A result no call waits for (serve restarted while the
// job was out, or the call gave up) is still stored by OnResult, and the
// caller judges it there.
func (d *Dispatcher) Waiting(jobID string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.waiters[jobID]
	return ok
}

func (d *Dispatcher) wake(jobID string, w waited) {
	d.mu.Lock()
	ch := d.waiters[jobID]
	delete(d.waiters, jobID)
	d.mu.Unlock()
	if ch != nil {
		ch <- w
	}
}

func (d *Dispatcher) handleResult(msg jetstream.Msg) {
	rm, err := DecodeResult(msg.Data())
	if err != nil {
		d.Logger.Error("dropping an unreadable result message", "subject", msg.Subject(), "err", err)
		_ = msg.TermWithReason("unreadable")
		return
	}
	if msg.Subject() != ResultSubject(rm.Site) {
		d.Logger.Error("dropping a result published on another site's subject", "subject", msg.Subject(), "site", rm.Site)
		_ = msg.TermWithReason("wrong site")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if d.OnResult != nil {
		if err := d.OnResult(ctx, rm); err != nil {
			d.Logger.Error("store result; it stays in the stream", "audit_id", rm.AuditID, "err", err)
			_ = msg.NakWithDelay(time.Second)
			return
		}
	}
	if err := msg.DoubleAck(ctx); err != nil {
		d.Logger.Warn("ack result", "audit_id", rm.AuditID, "err", err)
	}
	d.wake(rm.JobID, waited{rm: rm})
}

func (d *Dispatcher) handleDead(msg jetstream.Msg) {
	dl, err := DecodeDeadLetter(msg.Data())
	if err != nil {
		d.Logger.Error("unreadable dead letter", "err", err)
		_ = msg.Ack()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if d.OnDead != nil {
		d.OnDead(ctx, dl)
	}
	_ = msg.Ack()
	d.wake(dl.JobID, waited{dead: dl})
}
