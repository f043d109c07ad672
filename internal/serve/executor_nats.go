package serve

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hardgate/hardgate/internal/agent"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/store"
)

// SiteLabel is the fleet label that sends a target to its site's agents.
const SiteLabel = "site"

// ExecutorConfig says where audits run: without nats, all in serve; with
// it, targets labelled site: go to that site's agents (docs/agents.md).
type ExecutorConfig struct {
	// NATS is the JetStream server the site agents consume from.
	NATS *NATSConfig `yaml:"nats"`
}

// NATSConfig is how serve reaches NATS.
type NATSConfig struct {
	// URL is tls://host:4222 (nats:// only to loopback unless allow_plaintext).
	URL string `yaml:"url"`
	// CredsFile is a NATS creds file or an NKey user seed.
	CredsFile string `yaml:"creds_file"`
	// CAFile verifies the NATS server's certificate.
	CAFile string `yaml:"ca_file"`
	// AllowPlaintext permits nats:// to a host other than loopback.
	AllowPlaintext bool `yaml:"allow_plaintext"`
	// AckWait is how long a job may go silent before it is redelivered
	// (agents signal progress while auditing). Default 30s.
	AckWait Duration `yaml:"ack_wait"`
	// MaxAttempts is how many times a job is run before it is
	// dead-lettered. Default 3.
	MaxAttempts int `yaml:"max_attempts"`
}

func (n *NATSConfig) conn() agent.ConnConfig {
	return agent.ConnConfig{URL: n.URL, CredsFile: n.CredsFile, CAFile: n.CAFile, AllowPlaintext: n.AllowPlaintext,
		Name: "hardgate serve"}
}

func (e *ExecutorConfig) validate(v *validator) {
	n := e.NATS
	if n == nil {
		return
	}
	c := n.conn()
	if err := c.Check(); err != nil {
		v.add("executor.nats.url", n.URL, err.Error())
	}
	if n.AckWait < 0 || (n.AckWait > 0 && time.Duration(n.AckWait) < time.Second) {
		v.add("executor.nats.ack_wait", n.AckWait, "must be 1s or more")
	}
	if n.MaxAttempts < 0 || n.MaxAttempts > 100 {
		v.add("executor.nats.max_attempts", n.MaxAttempts, "must be 1 to 100")
	}
}

// sitesOf returns the sorted site labels of targets, checking each is a
// valid site name.
func sitesOf(targets []Target) ([]string, error) {
	var sites []string
	for _, t := range targets {
		s, ok := t.Labels[SiteLabel]
		if !ok || s == "" {
			continue
		}
		if !agent.ValidName(s) {
			return nil, fmt.Errorf("target %s: label site %q: want 1-64 of A-Z a-z 0-9 _ -", t.Name, s)
		}
		if !slices.Contains(sites, s) {
			sites = append(sites, s)
		}
	}
	slices.Sort(sites)
	return sites, nil
}

// RemoteExecutor sends the audits of targets with a site label to that
// site's agents and runs the others locally.
type RemoteExecutor struct {
	// Local runs the targets without a site (serve's executor before).
	Local Executor
	nc    *nats.Conn
	js    jetstream.JetStream
	disp  *agent.Dispatcher
	sites []string
}

// NewRemoteExecutor connects to NATS, provisions the streams and the
// sites' consumers, and starts consuming results into svc's history. Call
// Close when done.
func NewRemoteExecutor(ctx context.Context, cfg *NATSConfig, svc *Service) (*RemoteExecutor, error) {
	sites, err := sitesOf(svc.targets)
	if err != nil {
		return nil, err
	}
	nc, err := agent.Connect(cfg.conn())
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	e := &RemoteExecutor{nc: nc, js: js, sites: sites}
	e.Local = svc.exec
	e.disp = &agent.Dispatcher{JS: js, Logger: svc.log, Now: svc.now, OnResult: svc.storeRemote,
		Topology: agent.Topology{Sites: sites, AckWait: time.Duration(cfg.AckWait), MaxAttempts: cfg.MaxAttempts},
		OnDead: func(_ context.Context, d *agent.DeadLetter) {
			svc.log.Error("job dead-lettered", "site", d.Site, "target", d.Target, "job_id", d.JobID,
				"attempts", d.Attempts, "reason", d.Reason)
		}}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := e.disp.Start(sctx); err != nil {
		nc.Close()
		return nil, err
	}
	svc.mu.Lock()
	svc.exec, svc.remote = e, e
	svc.mu.Unlock()
	return e, nil
}

// Close stops consuming and closes the connection.
func (e *RemoteExecutor) Close() {
	e.disp.Stop()
	e.nc.Close()
}

// Audit runs t at its site's agents, or locally without a site label.
func (e *RemoteExecutor) Audit(ctx context.Context, t Target) (*result.Result, error) {
	site := t.Labels[SiteLabel]
	if site == "" {
		return e.Local.Audit(ctx, t)
	}
	if t.Spec == nil {
		return nil, fmt.Errorf("target %s has no spec", t.Name)
	}
	return e.disp.Audit(ctx, site, t.Labels, t.Spec)
}

// storesResults reports whether Audit's result for t is already stored
// (with waivers applied) when Audit returns.
func (e *RemoteExecutor) storesResults(t Target) bool { return t.Labels[SiteLabel] != "" }

// storeRemote stores an agent's result in the history (waivers applied),
// before the dispatcher acks it. A result already stored under its audit
// id (a redelivery) is not stored again.
func (s *Service) storeRemote(ctx context.Context, rm *agent.ResultMsg) error {
	if rm.Outcome != agent.OutcomeAudited {
		return nil
	}
	res := rm.Result
	t, ok := s.byName[res.Target.Name]
	if !ok {
		t = Target{Name: res.Target.Name}
	}
	s.judgeWaivers(t, res)
	added, err := s.store.AddAll(ctx, []*result.Result{res})
	if errors.Is(err, store.ErrConflict) {
		// A second run of a redelivered job: the first stored result wins.
		s.log.Warn("result of a redelivered job already stored; the first one is kept", "audit_id", res.AuditID,
			"agent", rm.Agent, "attempt", rm.Attempt)
		return nil
	}
	if err != nil {
		return err
	}
	if len(added) == 0 {
		s.log.Info("result already stored", "audit_id", res.AuditID, "agent", rm.Agent)
		return nil
	}
	s.mu.Lock()
	remote := s.remote
	s.mu.Unlock()
	if ok && (remote == nil || !remote.disp.Waiting(rm.JobID)) {
		// No run of this process waits for it (serve restarted while the
		// job was out, or the run gave up): judge it here, as runOne would.
		s.recordResult(ctx, t, res)
		if v, err := s.judge(ctx, t, res); err != nil {
			s.log.Error("judge against baseline", "target", t.Name, "audit_id", res.AuditID, "err", err)
		} else {
			s.log.Info("audited (result of an earlier run)", "target", t.Name, "audit_id", res.AuditID,
				"status", res.Summary.Status, "drift", v.state, "baseline_id", v.baseline)
		}
	}
	return nil
}

// SitesView is what the dashboard's agents page shows.
type SitesView struct {
	Agents []agent.Heartbeat
	Queues []agent.SiteQueue
	Dead   []agent.DeadLetter
	// Err is why NATS could not be read.
	Err string
}

// sitesView reads agents, queues and dead letters from NATS.
func (e *RemoteExecutor) sitesView(ctx context.Context) SitesView {
	var v SitesView
	var errs []error
	var err error
	if v.Agents, err = agent.Agents(ctx, e.js); err != nil {
		errs = append(errs, err)
	}
	if v.Queues, err = agent.Queues(ctx, e.js, e.sites); err != nil {
		errs = append(errs, err)
	}
	if v.Dead, err = agent.DeadLetters(ctx, e.js, 50); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		v.Err = err.Error()
	}
	return v
}
