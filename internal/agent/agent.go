package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hardgate/hardgate/internal/audit"
	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/controls"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

// DefaultGrace is how long past a job's own deadline (timeouts.audit) an
// agent waits for the audit to return before it gives the attempt up.
const DefaultGrace = 5 * time.Second

// errGaveUp marks an attempt that did not end in a result: the audit
// panicked or did not return in time. The job is redelivered.
var errGaveUp = errors.New("attempt given up")

// AuditFunc audits one target; the default is the ordinary engine
// (audit.Prepare, Plan.Run), the one `hardgate audit` and `--fleet` use.
type AuditFunc func(ctx context.Context, t *spec.Target, opts audit.Options) (*result.Result, error)

// Agent consumes one site's jobs and publishes their results.
type Agent struct {
	// Site is the site whose jobs it runs.
	Site string
	// Name identifies the agent in heartbeats and results.
	Name string
	// Parallel bounds concurrent audits (0: 8).
	Parallel int
	// Version is the agent's hardgate version.
	Version string
	// Grace is DefaultGrace when 0.
	Grace time.Duration
	// Logger receives the agent's log; nil discards.
	Logger *slog.Logger
	// Audit are the audit options (catalog, clock); NewID is set per job.
	Audit audit.Options
	// AuditFunc replaces the engine (tests).
	AuditFunc AuditFunc

	js          jetstream.JetStream
	cons        jetstream.Consumer
	ackWait     time.Duration
	maxAttempts int
	running     atomic.Int64
	done        atomic.Int64
	failed      atomic.Int64
	started     time.Time
}

// Run consumes jobs on nc until ctx ends, then lets running audits finish
// (their jobs are acked or, when cancelled, left to be redelivered).
func (a *Agent) Run(ctx context.Context, nc *nats.Conn) error {
	if err := a.setup(ctx, nc); err != nil {
		return err
	}
	kv, err := a.js.KeyValue(ctx, AgentsBucket)
	if err != nil {
		return errNotProvisioned("heartbeat bucket "+AgentsBucket, err)
	}
	a.Logger.Info("agent started", "site", a.Site, "agent", a.Name, "parallel", a.Parallel,
		"ack_wait", a.ackWait, "max_attempts", a.maxAttempts)
	var wg sync.WaitGroup
	hbCtx, stopHB := context.WithCancel(ctx)
	wg.Go(func() { a.heartbeats(hbCtx, kv) })
	var workers sync.WaitGroup
	for range a.Parallel {
		workers.Go(func() { a.work(ctx) })
	}
	workers.Wait()
	stopHB()
	wg.Wait()
	a.Logger.Info("agent stopped", "done", a.done.Load(), "failed", a.failed.Load())
	return nil
}

func (a *Agent) setup(ctx context.Context, nc *nats.Conn) error {
	if err := checkName("site", a.Site); err != nil {
		return err
	}
	if err := checkName("agent name", a.Name); err != nil {
		return err
	}
	if a.Parallel <= 0 {
		a.Parallel = 8
	}
	if a.Grace <= 0 {
		a.Grace = DefaultGrace
	}
	if a.Logger == nil {
		a.Logger = slog.New(slog.DiscardHandler)
	}
	a.Logger = a.Logger.With("site", a.Site, "agent", a.Name)
	if a.Audit.Now == nil {
		a.Audit.Now = time.Now
	}
	if a.Audit.Catalog == nil {
		cat, err := catalog.Load()
		if err != nil {
			return fmt.Errorf("load catalog: %w", err)
		}
		a.Audit.Catalog = cat
	}
	if err := controls.CheckRegistry(a.Audit.Catalog); err != nil {
		return err
	}
	if a.AuditFunc == nil {
		a.AuditFunc = auditTarget
	}
	a.started = a.Audit.Now()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	a.js = js
	cons, err := js.Consumer(ctx, JobsStream, SiteConsumer(a.Site))
	if err != nil {
		return errNotProvisioned("consumer "+SiteConsumer(a.Site)+" of stream "+JobsStream, err)
	}
	cfg := cons.CachedInfo().Config
	a.cons, a.ackWait, a.maxAttempts = cons, cfg.AckWait, max(1, cfg.MaxDeliver-1)
	return nil
}

func auditTarget(ctx context.Context, t *spec.Target, opts audit.Options) (*result.Result, error) {
	plan, err := audit.Prepare(t)
	if err != nil {
		return nil, fmt.Errorf("invalid target: %w", err)
	}
	return plan.Run(ctx, opts)
}

// work fetches one job at a time and handles it, until ctx ends. One job
// per fetch: a job waiting in a local buffer would burn its ack wait.
func (a *Agent) work(ctx context.Context) {
	for ctx.Err() == nil {
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		msgs, err := a.cons.Fetch(1, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			if errors.Is(err, nats.ErrConnectionClosed) {
				a.Logger.Error("nats connection closed; the agent stops")
				return
			}
			if ctx.Err() == nil {
				a.Logger.Warn("fetch jobs", "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		for msg := range msgs.Messages() {
			a.handle(ctx, msg)
		}
		cancel()
		if err := msgs.Error(); err != nil && ctx.Err() == nil && !errors.Is(err, nats.ErrTimeout) &&
			!errors.Is(err, context.DeadlineExceeded) {
			a.Logger.Warn("fetch jobs", "err", err)
			sleep(ctx, time.Second)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// handle runs one delivery of a job: dead-letters it when it cannot be
// read or has had its attempts, else audits it, publishes the result and
// acks the job only once JetStream has acked the result.
func (a *Agent) handle(ctx context.Context, msg jetstream.Msg) {
	attempt := 1
	if md, err := msg.Metadata(); err == nil {
		attempt = int(md.NumDelivered)
	}
	job, t, err := DecodeJob(msg.Data())
	if err != nil {
		a.deadLetter(ctx, msg, &Job{}, "", attempt, "undecodable job: "+err.Error())
		return
	}
	log := a.Logger.With("job_id", job.JobID, "target", t.Name, "attempt", attempt)
	if job.Site != a.Site {
		a.deadLetter(ctx, msg, job, t.Name, attempt, fmt.Sprintf("job for site %q on the subject of site %q", job.Site, a.Site))
		return
	}
	if attempt > a.maxAttempts {
		a.deadLetter(ctx, msg, job, t.Name, attempt-1, fmt.Sprintf("no result after %d attempts", attempt-1))
		return
	}
	log.Info("job started")
	a.running.Add(1)
	rm := a.run(ctx, msg, job, t, attempt)
	a.running.Add(-1)
	if rm == nil { // given up or stopping: the job is redelivered
		a.failed.Add(1)
		return
	}
	data, err := EncodeResult(rm)
	if err == nil && len(data) > MaxResultBytes {
		err = fmt.Errorf("result message of %d bytes is larger than %d", len(data), MaxResultBytes)
	}
	if err != nil {
		log.Error("encode result", "err", err)
		_ = msg.Nak()
		return
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := a.js.Publish(pctx, ResultSubject(a.Site), data, jetstream.WithMsgID(job.AuditID)); err != nil {
		log.Error("publish result; the job will be redelivered", "err", err)
		_ = msg.Nak()
		return
	}
	if err := msg.DoubleAck(pctx); err != nil {
		log.Warn("ack job after its result was stored", "err", err)
	}
	a.done.Add(1)
	log.Info("job done", "outcome", rm.Outcome, "status", statusText(rm))
}

func statusText(rm *ResultMsg) string {
	if rm.Result != nil {
		return rm.Result.Summary.Status
	}
	return rm.Error
}

// run audits the job's target, telling JetStream it is in progress every
// third of the ack wait. It returns nil when the attempt is given up (a
// panic, no return within the deadline and grace, the agent stopping).
func (a *Agent) run(ctx context.Context, msg jetstream.Msg, job *Job, t *spec.Target, attempt int) *ResultMsg {
	log := a.Logger.With("job_id", job.JobID, "target", t.Name, "attempt", attempt)
	rm := &ResultMsg{SchemaVersion: ResultSchemaVersion, JobID: job.JobID, AuditID: job.AuditID, Site: a.Site,
		Agent: a.Name, AgentVersion: a.Version, Attempt: attempt, StartedAt: a.Audit.Now().UTC()}
	stop := a.keepInProgress(msg)
	defer stop()
	res, err := a.bounded(ctx, job, t)
	rm.FinishedAt = a.Audit.Now().UTC()
	switch {
	case errors.Is(err, errGaveUp):
		log.Error("attempt given up; the job will be redelivered", "err", err)
		_ = msg.Nak()
		return nil
	case ctx.Err() != nil:
		// Stopping: the job goes back to the queue for another agent.
		log.Warn("agent stopping; the job will be redelivered")
		_ = msg.Nak()
		return nil
	case err != nil:
		rm.Outcome, rm.Error = OutcomeError, err.Error()
	default:
		rm.Outcome, rm.Result = OutcomeAudited, res
	}
	return rm
}

// keepInProgress signals progress on msg every third of the ack wait
// until the returned stop is called.
func (a *Agent) keepInProgress(msg jetstream.Msg) (stop func()) {
	every := max(a.ackWait/3, 100*time.Millisecond)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				_ = msg.InProgress()
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

type audited struct {
	res *result.Result
	err error
}

// bounded runs the audit under the target's own deadline and gives up
// when it panics or does not return within the grace after it.
func (a *Agent) bounded(ctx context.Context, job *Job, t *spec.Target) (*result.Result, error) {
	deadline := time.Duration(t.Timeouts.Audit)
	actx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	opts := a.Audit
	opts.NewID = func() string { return job.AuditID }
	opts.Logger = a.Logger
	done := make(chan audited, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				a.Logger.Error("audit panicked", "job_id", job.JobID, "panic", p, "stack", string(debug.Stack()))
				done <- audited{err: fmt.Errorf("%w: the audit panicked: %v", errGaveUp, p)}
			}
		}()
		res, err := a.AuditFunc(actx, t, opts)
		done <- audited{res, err}
	}()
	select {
	case r := <-done:
		return r.res, r.err
	case <-actx.Done():
	}
	timer := time.NewTimer(a.Grace)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.res, r.err
	case <-timer.C:
		return nil, fmt.Errorf("%w: the audit did not return within %v after its deadline (timeouts.audit %v)", errGaveUp, a.Grace, deadline)
	}
}

// deadLetter publishes the job to the site's dead-letter subject and
// terminates it, so it is never delivered again.
func (a *Agent) deadLetter(ctx context.Context, msg jetstream.Msg, job *Job, target string, attempts int, reason string) {
	d := &DeadLetter{SchemaVersion: JobSchemaVersion, JobID: job.JobID, AuditID: job.AuditID, Site: a.Site,
		Target: target, Attempts: attempts, Reason: reason, Agent: a.Name, At: a.Audit.Now().UTC()}
	id := job.JobID
	if id == "" {
		if md, err := msg.Metadata(); err == nil {
			id = fmt.Sprintf("seq-%d", md.Sequence.Stream)
		}
	}
	d.JobID = id
	data, err := EncodeDeadLetter(d)
	if err != nil {
		a.Logger.Error("encode dead letter", "err", err)
		return
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := a.js.Publish(pctx, DeadSubject(a.Site), data, jetstream.WithMsgID("dead-"+id)); err != nil {
		a.Logger.Error("publish dead letter; the job will be redelivered", "job_id", id, "err", err)
		_ = msg.Nak()
		return
	}
	if err := msg.TermWithReason(reason); err != nil {
		a.Logger.Warn("terminate dead-lettered job", "job_id", id, "err", err)
	}
	a.failed.Add(1)
	a.Logger.Error("job dead-lettered", "job_id", id, "target", target, "attempts", attempts, "reason", reason)
}
