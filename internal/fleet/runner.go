// Package fleet audits many targets of a fleet file (package spec) with
// bounded concurrency, each through the one audit engine (package audit),
// under its own deadline and a whole-fleet deadline. A Runner hands every
// finished target to a callback (the CLI writes its result file there and
// moves a progress bar); Summarize turns a run into the fleet summary
// (result.Fleet, fleet.json), and OutDir writes the fleet's output folder.
//
// A target that hangs or answers garbage holds one worker until its own
// deadline and no longer: its audit is cancelled at the deadline, and a
// runner that sees the audit not return within a short grace after that
// gives up on it and reports an error. An interrupt (the context) stops
// new audits, cancels the running ones, and the run still returns what
// completed.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/hardgate/hardgate/internal/audit"
	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/controls"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
	"github.com/hardgate/hardgate/internal/waiver"
)

// ErrFleetDeadline is the cause of a run stopped by its whole-fleet deadline.
var ErrFleetDeadline = errors.New("fleet deadline reached")

// Reasons a run stopped early (Run.Interrupted).
const (
	StoppedByInterrupt = "interrupt"
	StoppedByDeadline  = "deadline"
)

// DefaultGrace is how long past a target's own deadline the runner waits
// for its audit to return before it gives up on it.
const DefaultGrace = 2 * time.Second

// DefaultParallel is the default bound on concurrent audits: audits wait
// on the network far more than they compute, so 32 per CPU, within 8..256.
func DefaultParallel() int {
	return min(256, max(8, 32*runtime.GOMAXPROCS(0)))
}

// AuditFunc audits one target; the Runner's default prepares the target
// (audit.Prepare) and runs it (Plan.Run).
type AuditFunc func(ctx context.Context, t *spec.Target, opts audit.Options) (*result.Result, error)

// Runner audits the targets of a fleet.
type Runner struct {
	// Parallel bounds concurrent audits (0: DefaultParallel).
	Parallel int
	// Deadline bounds the whole run (0: none); targets not finished by
	// then are cancelled or skipped.
	Deadline time.Duration
	// Grace is how long the runner waits past a target's own deadline
	// (timeouts.audit) for its audit to return (0: DefaultGrace).
	Grace time.Duration
	// Audit are the options of every audit; a nil Catalog is loaded once
	// and shared by all audits. Its clock (Now) also times the targets.
	Audit audit.Options
	// OnStart is called when a target's audit starts (concurrently).
	OnStart func(t *spec.FleetTarget)
	// OnDone is called once per target that started, one call at a time,
	// with the outcome and its full result (when there is one). Nothing
	// keeps the result afterwards, so a fleet of thousands fits in memory.
	OnDone func(o *Outcome)
	// Audit function; nil audits for real. Tests inject a hanging one.
	AuditFunc AuditFunc
	// Waivers, when set, are applied to every result (with the target's
	// fleet labels) at the run's start time, before its status, summary
	// line and result file; Summarize reports expired and stale ones once.
	Waivers *waiver.Set
}

// Outcome is what became of one target.
type Outcome struct {
	Target spec.FleetTarget
	// Status is one of the result.Fleet* statuses.
	Status string
	// Result is the audit's result: set during OnDone for pass, fail and
	// inconclusive, nil in Run.Outcomes.
	Result *result.Result
	// Err says why a target is error or cancelled.
	Err      error
	Started  time.Time
	Duration time.Duration
	// Row is the target's line in the fleet summary.
	Row result.FleetTarget
	// Waivers is what the runner's waivers did to the result (nil
	// without waivers or without a result).
	Waivers waiver.Outcome
}

// Run is a finished fleet run.
type Run struct {
	// Outcomes are in the order of the targets given to Runner.Run.
	Outcomes   []Outcome
	StartedAt  time.Time
	FinishedAt time.Time
	// Interrupted is StoppedByInterrupt or StoppedByDeadline when the run
	// stopped early, else empty.
	Interrupted string
	// Parallel is the bound the run used.
	Parallel int
	// Waivers is what the runner's waivers did across the fleet (nil
	// without waivers).
	Waivers *result.FleetWaivers

	failing map[string]*result.FleetControl
}

// Run audits targets, at most Parallel at a time, and returns every
// target's outcome. It returns when every started audit has returned or
// been given up on; cancelling ctx stops it early (see the package doc).
func (r *Runner) Run(ctx context.Context, targets []spec.FleetTarget) (*Run, error) {
	opts := r.Audit
	if opts.Catalog == nil {
		cat, err := catalog.Load()
		if err != nil {
			return nil, fmt.Errorf("load catalog: %w", err)
		}
		opts.Catalog = cat
	}
	if err := controls.CheckRegistry(opts.Catalog); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	parallel := r.Parallel
	if parallel <= 0 {
		parallel = DefaultParallel()
	}
	run := &Run{Outcomes: make([]Outcome, len(targets)), StartedAt: opts.Now().UTC(), Parallel: parallel,
		failing: map[string]*result.FleetControl{}}
	fctx, cancel := ctx, context.CancelFunc(func() {})
	if r.Deadline > 0 {
		fctx, cancel = context.WithTimeoutCause(ctx, r.Deadline, ErrFleetDeadline)
	}
	defer cancel()

	w := &worker{r: r, opts: opts, run: run}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(parallel, len(targets)) {
		wg.Go(func() {
			for i := range jobs {
				w.audit(fctx, i, &targets[i])
			}
		})
	}
	fed := 0
feed:
	for fed < len(targets) {
		select {
		case jobs <- fed:
			fed++
		case <-fctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	for i := fed; i < len(targets); i++ {
		o := Outcome{Target: targets[i], Status: result.FleetSkipped, Err: context.Cause(fctx)}
		o.Row = row(&o)
		run.Outcomes[i] = o
	}
	run.FinishedAt = opts.Now().UTC()
	if r.Waivers != nil {
		run.Waivers = fleetWaivers(r.Waivers, run.Outcomes, run.StartedAt)
	}
	switch {
	case ctx.Err() != nil:
		run.Interrupted = StoppedByInterrupt
	case errors.Is(context.Cause(fctx), ErrFleetDeadline):
		run.Interrupted = StoppedByDeadline
	}
	return run, nil
}

// worker runs single audits and records their outcomes.
type worker struct {
	r    *Runner
	opts audit.Options
	run  *Run
	mu   sync.Mutex
}

type audited struct {
	res *result.Result
	err error
}

func (w *worker) audit(fctx context.Context, i int, ft *spec.FleetTarget) {
	o := Outcome{Target: *ft, Started: w.opts.Now()}
	if fctx.Err() != nil {
		o.Status, o.Err = result.FleetSkipped, context.Cause(fctx)
		w.record(i, &o)
		return
	}
	if w.r.OnStart != nil {
		w.r.OnStart(ft)
	}
	res, err := w.bounded(fctx, ft)
	o.Duration = w.opts.Now().Sub(o.Started)
	switch {
	case err != nil && fctx.Err() != nil:
		o.Status, o.Err = result.FleetCancelled, fmt.Errorf("audit stopped: %w", context.Cause(fctx))
	case err != nil:
		o.Status, o.Err = result.FleetError, err
	case fctx.Err() != nil && res.Summary.Controls.Error > 0:
		// Stopped mid-way: what it could not decide is the interrupt's
		// doing, not the target's, so the result is not kept.
		o.Status, o.Err = result.FleetCancelled, fmt.Errorf("audit stopped: %w", context.Cause(fctx))
	default:
		o.Waivers = w.r.judge(res, ft.Labels, w.run.StartedAt)
		o.Status, o.Result = statusOf(res), res
	}
	w.record(i, &o)
}

// bounded runs one audit under the target's own deadline and gives up on
// it when it does not return within the grace after that deadline.
func (w *worker) bounded(fctx context.Context, ft *spec.FleetTarget) (*result.Result, error) {
	t := ft.Target
	deadline := time.Duration(t.Timeouts.Audit)
	actx, cancel := context.WithTimeout(fctx, deadline)
	defer cancel()
	done := make(chan audited, 1)
	fn := w.r.AuditFunc
	if fn == nil {
		fn = auditTarget
	}
	go func() {
		res, err := fn(actx, &t, w.opts)
		done <- audited{res, err}
	}()
	select {
	case a := <-done:
		return a.res, a.err
	case <-actx.Done():
	}
	grace := w.r.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case a := <-done:
		return a.res, a.err
	case <-timer.C:
		return nil, fmt.Errorf("the audit did not return within %v after its deadline (timeouts.audit %v); given up", grace, deadline)
	}
}

func auditTarget(ctx context.Context, t *spec.Target, opts audit.Options) (*result.Result, error) {
	plan, err := audit.Prepare(t)
	if err != nil {
		return nil, fmt.Errorf("invalid target: %w", err)
	}
	return plan.Run(ctx, opts)
}

// record keeps the outcome's summary line and hands the outcome to OnDone,
// one at a time.
func (w *worker) record(i int, o *Outcome) {
	o.Row = row(o)
	w.mu.Lock()
	defer w.mu.Unlock()
	if o.Result != nil {
		countFailing(w.run.failing, o.Target.Target.Name, o.Result)
	}
	if w.r.OnDone != nil && o.Status != result.FleetSkipped {
		w.r.OnDone(o)
	}
	o.Result = nil
	w.run.Outcomes[i] = *o
}

func statusOf(res *result.Result) string {
	switch res.Summary.Status {
	case result.AuditPass:
		return result.FleetPass
	case result.AuditFail:
		return result.FleetFail
	}
	return result.FleetInconclusive
}
