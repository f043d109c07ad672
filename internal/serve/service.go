package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/store"
)

// recentAudits is how many audits of each target the overview's sparkline
// shows.
const recentAudits = 20

// Options are what a Service is built from besides its config.
type Options struct {
	// Targets is the fleet, loaded from cfg.Fleet by the caller.
	Targets []Target
	// Store is the open history; the caller closes it.
	Store *store.Store
	// Executor runs audits; nil is a LocalExecutor.
	Executor Executor
	// Logger receives the service's log; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Getenv reads the webhook secret; nil is os.Getenv.
	Getenv func(string) string
	// ToolVersion is shown on the dashboard and written into results.
	ToolVersion string
}

// Service is a running retainer: scheduler, judge, alerts, metrics and
// the dashboard's data.
type Service struct {
	cfg      *Config
	store    *store.Store
	exec     Executor
	remote   *RemoteExecutor // set when audits may run at site agents
	log      *slog.Logger
	now      func() time.Time
	version  string
	targets  []Target
	byName   map[string]Target
	sched    *scheduler
	webhook  *webhookSender
	waivers  *waiverSource
	metrics  *metrics
	runCtx   context.Context // cancelled when running audits must stop
	stopRuns context.CancelFunc
	schedCtx context.Context // ends when no new audit may start

	mu       sync.Mutex
	statuses map[string]*TargetStatus
	results  map[string]*result.Result // baselines, by audit id
}

// TargetStatus is what serve knows of a target now.
type TargetStatus struct {
	Target Target
	// Latest is the newest stored audit; nil before the first.
	Latest *store.Entry
	// Recent are the newest audits, oldest first (the sparkline).
	Recent []store.Entry
	// SeverityCounts are the findings of Latest by severity.
	SeverityCounts map[string]int
	// Baseline is the current baseline; nil without one.
	Baseline *store.BaselineChange
	// Drift is the drift state (StatePassing, ...); empty before judging.
	Drift string
	// LastError is why the newest run failed, if it did.
	LastError string
	// Regressions counts regression events since serve started.
	Regressions int
}

// New builds a service from a valid config: it reads the webhook secret,
// marks runs left running by a previous process as abandoned and loads
// what the history knows of each target.
func New(ctx context.Context, cfg *Config, opts Options) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Store == nil {
		return nil, errors.New("serve: no history store")
	}
	s := &Service{
		cfg: cfg, store: opts.Store, exec: opts.Executor, log: opts.Logger, now: opts.Now,
		version: opts.ToolVersion, statuses: map[string]*TargetStatus{}, results: map[string]*result.Result{},
		byName: map[string]Target{}, runCtx: context.Background(),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.exec == nil {
		s.exec = LocalExecutor{ToolVersion: opts.ToolVersion, Logger: s.log}
	}
	for _, t := range opts.Targets {
		if _, dup := s.byName[t.Name]; dup || t.Name == "" {
			return nil, fmt.Errorf("serve: target name %q is empty or not unique", t.Name)
		}
		if t.Spec != nil {
			t.Spec.Name = t.Name
		}
		s.byName[t.Name] = t
		s.targets = append(s.targets, t)
		s.statuses[t.Name] = &TargetStatus{Target: t}
	}
	if w := cfg.Alerts.Webhook; w != nil {
		ws, err := newWebhookSender(w, opts.Store, opts.Getenv, s.log, s.now)
		if err != nil {
			return nil, err
		}
		s.webhook = ws
	}
	if cfg.Waivers != "" {
		ws, err := newWaiverSource(cfg, s.log, s.now())
		if err != nil {
			return nil, err
		}
		s.waivers = ws
	}
	s.metrics = newMetrics(s)
	if n, err := s.store.AbandonRuns(ctx, s.now()); err != nil {
		return nil, err
	} else if n > 0 {
		s.log.Warn("runs left running by a previous process marked abandoned", "runs", n)
	}
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	s.sched = newScheduler(s.targets, &cfg.Schedule, cfg.Concurrency, s.now, s.runOne)
	return s, nil
}

// load reads each target's recent audits, baseline and drift state.
func (s *Service) load(ctx context.Context) error {
	recent, err := s.store.Recent(ctx, recentAudits)
	if err != nil {
		return err
	}
	baselines, err := s.store.Baselines(ctx)
	if err != nil {
		return err
	}
	drift, err := s.store.DriftStates(ctx)
	if err != nil {
		return err
	}
	for name, st := range s.statuses {
		st.Recent = recent[name]
		if n := len(st.Recent); n > 0 {
			latest := st.Recent[n-1]
			st.Latest = &latest
			res, err := s.store.Get(ctx, latest.AuditID)
			if err != nil {
				return err
			}
			st.SeverityCounts = res.Summary.SeverityCounts
		}
		if b, ok := baselines[name]; ok {
			st.Baseline = &b
		}
		st.Drift = drift[name].State
	}
	return nil
}

// Run schedules audits until ctx ends, then lets running audits finish
// for the config's shutdown_grace before cancelling them (they are marked
// cancelled), and waits for the webhook sender's current attempt.
func (s *Service) Run(ctx context.Context) error {
	// Read even when ctx already ended: a stop right after the start is a
	// clean stop, not an error.
	last, err := s.store.LastRunStarts(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	s.sched.plan(last)
	runCtx, stopRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRuns()
	s.mu.Lock()
	s.runCtx, s.stopRuns, s.schedCtx = runCtx, stopRuns, ctx
	s.mu.Unlock()
	var wg sync.WaitGroup
	if s.webhook != nil {
		wg.Go(func() { s.webhook.loop(ctx) })
	}
	done := make(chan struct{})
	go func() { s.sched.loop(ctx); close(done) }()
	<-ctx.Done()
	grace := time.NewTimer(time.Duration(s.cfg.ShutdownGrace))
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		s.log.Warn("shutdown grace over: cancelling running audits")
		stopRuns()
		<-done
	}
	wg.Wait()
	return nil
}

// RunNow starts an audit of the named target at once ("audit now").
func (s *Service) RunNow(name string) error {
	s.mu.Lock()
	ctx := s.schedCtx
	s.mu.Unlock()
	if ctx == nil {
		return errors.New("serve is not running")
	}
	return s.sched.runNow(ctx, name)
}

// runOne runs one audit of t on a scheduler worker and records it.
func (s *Service) runOne(t Target, trigger string, started time.Time) {
	s.mu.Lock()
	runCtx := s.runCtx
	s.mu.Unlock()
	// Bookkeeping outlives a cancelled audit, so it is marked as such.
	ctx := context.WithoutCancel(runCtx)
	log := s.log.With("target", t.Name, "trigger", trigger)
	runID, err := s.store.StartRun(ctx, t.Name, trigger, started)
	if err != nil {
		log.Error("record run start", "err", err)
		return
	}
	res, err := s.exec.Audit(runCtx, t)
	elapsed := s.now().Sub(started)
	switch {
	case runCtx.Err() != nil:
		log.Warn("audit cancelled by shutdown", "elapsed", elapsed)
		s.finishRun(ctx, runID, store.RunCancelled, "", "cancelled by shutdown", t.Name)
		s.metrics.observeRun(store.RunCancelled, elapsed)
		return
	case err != nil:
		log.Error("audit failed", "err", err, "elapsed", elapsed)
		s.finishRun(ctx, runID, store.RunFailed, "", err.Error(), t.Name)
		s.metrics.observeRun(store.RunFailed, elapsed)
		return
	}
	if s.remote == nil || !s.remote.storesResults(t) { // an agent's result is stored on arrival
		s.judgeWaivers(t, res)
		if _, err := s.store.AddAll(ctx, []*result.Result{res}); err != nil {
			log.Error("store result", "err", err)
			s.finishRun(ctx, runID, store.RunFailed, res.AuditID, err.Error(), t.Name)
			return
		}
	}
	s.finishRun(ctx, runID, store.RunDone, res.AuditID, "", t.Name)
	s.metrics.observeRun(store.RunDone, elapsed)
	s.recordResult(ctx, t, res)
	v, err := s.judge(ctx, t, res)
	if err != nil {
		log.Error("judge against baseline", "err", err)
		return
	}
	log.Info("audited", "audit_id", res.AuditID, "status", res.Summary.Status, "posture", res.Summary.Posture,
		"risk", res.Summary.RiskScore, "drift", v.state, "baseline_id", v.baseline, "elapsed", elapsed)
}

func (s *Service) finishRun(ctx context.Context, id int64, state, auditID, msg, target string) {
	if err := s.store.FinishRun(ctx, id, state, auditID, msg, s.now()); err != nil {
		s.log.Error("record run end", "target", target, "err", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.statuses[target]; st != nil {
		st.LastError = msg
	}
}

// recordResult updates the target's status with a stored result.
func (s *Service) recordResult(ctx context.Context, t Target, res *result.Result) {
	e := store.Entry{AuditID: res.AuditID, Target: t.Name, StartedAt: res.StartedAt, FinishedAt: res.FinishedAt,
		Status: res.Summary.Status, Posture: res.Summary.Posture, RiskScore: res.Summary.RiskScore,
		Findings: res.Summary.Findings, ToolVersion: res.Tool.Version}
	base, err := s.store.Baseline(ctx, t.Name)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.statuses[t.Name]
	st.Latest = &e
	st.Recent = append(st.Recent, e)
	if len(st.Recent) > recentAudits {
		st.Recent = st.Recent[len(st.Recent)-recentAudits:]
	}
	st.SeverityCounts = res.Summary.SeverityCounts
	if err == nil {
		st.Baseline = &base
	}
}

// setDrift records a target's drift state in its status.
func (s *Service) setDrift(name, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.statuses[name]
	if state == StateRegressed && st.Drift != StateRegressed {
		st.Regressions++
	}
	st.Drift = state
}

// status returns a copy of a target's status.
func (s *Service) status(name string) TargetStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.statuses[name]; st != nil {
		return *st
	}
	return TargetStatus{}
}

// Statuses returns a copy of every target's status, in fleet order.
func (s *Service) Statuses() []TargetStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TargetStatus, 0, len(s.targets))
	for _, t := range s.targets {
		out = append(out, *s.statuses[t.Name])
	}
	return out
}

// result returns a stored result, cached (baselines are read often).
func (s *Service) result(ctx context.Context, auditID string) (*result.Result, error) {
	s.mu.Lock()
	res, ok := s.results[auditID]
	s.mu.Unlock()
	if ok {
		return res, nil
	}
	res, err := s.store.Get(ctx, auditID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if len(s.results) > 4096 {
		clear(s.results)
	}
	s.results[auditID] = res
	s.mu.Unlock()
	return res, nil
}

// SetBaseline makes auditID the baseline of target (the dashboard's
// action; hardgate baseline set writes the store directly).
func (s *Service) SetBaseline(ctx context.Context, target, auditID, by, reason string) error {
	if _, ok := s.byName[target]; !ok {
		return fmt.Errorf("%w: %q", ErrUnknownTarget, target)
	}
	c := store.BaselineChange{Target: target, AuditID: auditID, At: s.now(), By: by, Reason: reason}
	if err := s.store.SetBaseline(ctx, c); err != nil {
		return err
	}
	b, err := s.store.Baseline(ctx, target)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.statuses[target].Baseline = &b
	s.mu.Unlock()
	s.log.Info("baseline changed", "target", target, "audit_id", auditID, "by", by, "reason", reason)
	return nil
}
