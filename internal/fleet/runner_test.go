package fleet_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/audit"
	"github.com/hardgate/hardgate/internal/fleet"
	"github.com/hardgate/hardgate/internal/fleet/fleettest"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

// mixedFleet writes a fleet of two strong gateways, an open one and a
// silent one (hangDeadline is its own timeouts.audit) and loads it.
func mixedFleet(t *testing.T, hangDeadline time.Duration) *spec.Fleet {
	t.Helper()
	dir := t.TempDir()
	ca := fleettest.NewCA(t, dir)
	fleettest.SetToken(t)
	silent := fleettest.NewSilent(t)
	body := fmt.Sprintf(`defaults:
  ingest: {ca_file: ca.pem, token_env: %s}
  timeouts: {request: 2s, audit: 20s}
targets:
  - name: strong-1
    labels: {site: plant-1}
    ingest: {urls: [%q]}
  - name: strong-2
    labels: {site: plant-2}
    ingest: {urls: [%q]}
  - name: open-1
    labels: {site: plant-1}
    ingest: {urls: [%q]}
  - name: silent-1
    labels: {site: plant-2}
    ingest: {urls: ["https://%s/v1/ingest"]}
    timeouts: {request: %s, audit: %s}
`, fleettest.TokenEnv, ca.Strong(t), ca.Strong(t), fleettest.Open(t), silent.Addr, hangDeadline, hangDeadline)
	f, err := spec.LoadFleet(fleettest.WriteFile(t, dir, "fleet.yaml", body))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(f.Targets[0].Target.Ingest.CAFile) != dir {
		t.Fatalf("ca_file %q not resolved against the fleet file", f.Targets[0].Target.Ingest.CAFile)
	}
	return f
}

func TestAMixedFleetOnLoopback(t *testing.T) {
	const hangDeadline = 3 * time.Second
	const slack = 5 * time.Second // judging, scoring, a loaded -race runner
	f := mixedFleet(t, hangDeadline)
	var (
		mu   sync.Mutex
		done []string
	)
	r := &fleet.Runner{Parallel: 4, Audit: audit.Options{ToolVersion: "test"}, OnDone: func(o *fleet.Outcome) {
		mu.Lock()
		defer mu.Unlock()
		if o.Status != result.FleetError && o.Result == nil {
			t.Errorf("%s: OnDone without the result", o.Row.Name)
		}
		done = append(done, o.Row.Name)
	}}
	start := time.Now()
	run, err := r.Run(context.Background(), f.Targets)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	want := map[string]string{"strong-1": "pass", "strong-2": "pass", "open-1": "fail", "silent-1": "inconclusive"}
	for _, o := range run.Outcomes {
		if o.Status != want[o.Row.Name] {
			t.Errorf("%s: status %s (%v), want %s", o.Row.Name, o.Status, o.Err, want[o.Row.Name])
		}
		if o.Result != nil {
			t.Errorf("%s: the run kept the full result", o.Row.Name)
		}
	}
	if len(done) != 4 {
		t.Errorf("OnDone called for %v, want every target once", done)
	}
	if elapsed > hangDeadline+slack {
		t.Errorf("the fleet took %s: the silent gateway held it past its own %s deadline", elapsed, hangDeadline)
	}
	hang := run.Outcomes[3]
	if hang.Duration < hangDeadline-100*time.Millisecond || hang.Duration > hangDeadline+slack {
		t.Errorf("the silent gateway's audit took %s, want about its %s deadline", hang.Duration, hangDeadline)
	}
	sum := fleet.Summarize(run, fleet.Meta{Tool: result.Tool{Name: "hardgate", Version: "test"}, FleetFile: "fleet.yaml"})
	st := sum.Totals.Statuses
	if sum.Status != result.AuditFail || sum.Posture != result.PostureRed || st["pass"] != 2 || st["fail"] != 1 || st["inconclusive"] != 1 ||
		st["error"] != 0 || sum.Totals.Targets != 4 || fleet.ExitCode(sum) != 1 {
		t.Fatalf("summary %s %s %v, exit %d; want FAIL red 2 pass 1 fail 1 inconclusive, exit 1", sum.Status, sum.Posture, st, fleet.ExitCode(sum))
	}
	if sum.Totals.Postures["green"] != 2 || sum.Totals.Postures["red"] != 1 || sum.Totals.Postures["unknown"] != 1 {
		t.Errorf("postures %v", sum.Totals.Postures)
	}
	top := map[string]result.FleetControl{}
	for _, c := range sum.TopFailingControls {
		top[c.ID] = c
	}
	if c := top["ingest_auth.insecure_transport"]; c.Targets != 1 || strings.Join(c.TargetNames, ",") != "open-1" || c.Severity != "high" {
		t.Errorf("top failing controls %+v lack insecure_transport on open-1", sum.TopFailingControls)
	}
	for _, row := range sum.Targets {
		if row.Name == "open-1" && (row.Findings == 0 || row.SeverityCounts["high"] == 0 || row.Labels["site"] != "plant-1" || row.Domains["Access Control"] != "red") {
			t.Errorf("open-1 row %+v", row)
		}
		if row.Name == "silent-1" && len(row.UndecidedControls) == 0 {
			t.Errorf("silent-1 lists no undecided control: %+v", row)
		}
	}
}

// fake returns an AuditFunc that answers from behave by target name.
func fake(behave func(ctx context.Context, name string) (*result.Result, error)) fleet.AuditFunc {
	return func(ctx context.Context, t *spec.Target, _ audit.Options) (*result.Result, error) {
		return behave(ctx, t.Name)
	}
}

func fakeResult(name, status string, errors int) *result.Result {
	return &result.Result{AuditID: "hg-" + name, Target: result.Target{Name: name}, Summary: result.Summary{
		Status: status, Posture: map[string]string{result.AuditPass: "green", result.AuditFail: "red"}[status],
		SeverityCounts: map[string]int{}, Controls: result.ControlCounts{Error: errors}}}
}

func targets(names ...string) []spec.FleetTarget {
	var out []spec.FleetTarget
	for i, n := range names {
		tgt := spec.Default()
		tgt.Name = n
		tgt.Timeouts.Audit = spec.Duration(30 * time.Second)
		out = append(out, spec.FleetTarget{Target: tgt, Entry: i, Labels: map[string]string{}})
	}
	return out
}

func TestAnAuditThatIgnoresItsDeadlineIsGivenUp(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	ts := targets("stuck", "quick-1", "quick-2")
	ts[0].Target.Timeouts.Audit = spec.Duration(300 * time.Millisecond)
	r := &fleet.Runner{Parallel: 2, Grace: 200 * time.Millisecond, AuditFunc: fake(func(ctx context.Context, name string) (*result.Result, error) {
		if name == "stuck" {
			<-release // ignores ctx: a probe that does not honour its deadline
		}
		return fakeResult(name, result.AuditPass, 0), nil
	})}
	start := time.Now()
	run, err := r.Run(context.Background(), ts)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the run took %s; the stuck audit should be given up after 300ms + 200ms", d)
	}
	stuck := run.Outcomes[0]
	if stuck.Status != result.FleetError || stuck.Err == nil || !strings.Contains(stuck.Err.Error(), "given up") {
		t.Errorf("stuck: %s %v, want error given up", stuck.Status, stuck.Err)
	}
	for _, o := range run.Outcomes[1:] {
		if o.Status != result.FleetPass {
			t.Errorf("%s: %s", o.Row.Name, o.Status)
		}
	}
}

func TestInterruptStopsNewAuditsAndCancelsRunningOnes(t *testing.T) {
	tests := []struct {
		name string
		// slow is how a running audit answers when its context ends.
		slow func(ctx context.Context, name string) (*result.Result, error)
	}{
		{"an audit that returns an undecided result is cancelled", func(ctx context.Context, name string) (*result.Result, error) {
			<-ctx.Done()
			return fakeResult(name, result.AuditInconclusive, 3), nil
		}},
		{"an audit that returns an error is cancelled", func(ctx context.Context, name string) (*result.Result, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var started atomic.Int32
			var doneNames []string
			r := &fleet.Runner{Parallel: 2,
				OnStart: func(ft *spec.FleetTarget) {
					if strings.HasPrefix(ft.Target.Name, "slow") && started.Add(1) == 2 {
						cancel() // Ctrl-C while two audits run
					}
				},
				OnDone: func(o *fleet.Outcome) { doneNames = append(doneNames, o.Row.Name+"="+o.Status) },
				AuditFunc: fake(func(ctx context.Context, name string) (*result.Result, error) {
					if name == "quick" {
						return fakeResult(name, result.AuditPass, 0), nil
					}
					return tt.slow(ctx, name)
				})}
			run, err := r.Run(ctx, targets("quick", "slow-1", "slow-2", "slow-3", "slow-4"))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, o := range run.Outcomes {
				got[o.Status]++
			}
			if got["pass"] != 1 || got["cancelled"] != 2 || got["skipped"] != 2 || run.Interrupted != fleet.StoppedByInterrupt {
				t.Fatalf("statuses %v interrupted %q, want 1 pass, 2 cancelled, 2 skipped, interrupt", got, run.Interrupted)
			}
			if run.Outcomes[0].Status != "pass" || run.Outcomes[4].Status != "skipped" {
				t.Errorf("outcomes out of order: %+v", run.Outcomes)
			}
			if len(doneNames) != 3 {
				t.Errorf("OnDone for %v, want the three that started", doneNames)
			}
			sum := fleet.Summarize(run, fleet.Meta{})
			if sum.Status != result.AuditInconclusive || sum.Posture != result.PostureUnknown || fleet.ExitCode(sum) != 3 || sum.Interrupted != "interrupt" {
				t.Errorf("summary %s %s exit %d interrupted %q, want INCONCLUSIVE unknown 3 interrupt", sum.Status, sum.Posture, fleet.ExitCode(sum), sum.Interrupted)
			}
		})
	}
}

func TestTheFleetDeadlineStopsTheRun(t *testing.T) {
	r := &fleet.Runner{Parallel: 1, Deadline: 300 * time.Millisecond, AuditFunc: fake(func(ctx context.Context, name string) (*result.Result, error) {
		if name == "quick" {
			return fakeResult(name, result.AuditFail, 0), nil
		}
		<-ctx.Done()
		return nil, ctx.Err()
	})}
	run, err := r.Run(context.Background(), targets("quick", "slow-1", "slow-2"))
	if err != nil {
		t.Fatal(err)
	}
	if run.Interrupted != fleet.StoppedByDeadline {
		t.Fatalf("interrupted %q, want deadline", run.Interrupted)
	}
	want := []string{"fail", "cancelled", "skipped"}
	for i, o := range run.Outcomes {
		if o.Status != want[i] {
			t.Errorf("%s: %s, want %s", o.Row.Name, o.Status, want[i])
		}
	}
	if !strings.Contains(run.Outcomes[1].Row.Error, "fleet deadline") {
		t.Errorf("the cancelled target's error %q does not name the fleet deadline", run.Outcomes[1].Row.Error)
	}
	if sum := fleet.Summarize(run, fleet.Meta{}); fleet.ExitCode(sum) != 1 {
		t.Errorf("exit %d, want 1: a failing target decides even when the run stopped early", fleet.ExitCode(sum))
	}
}

func TestAnInvalidTargetIsAnErrorNotAStop(t *testing.T) {
	ts := targets("no-token")
	ts[0].Target.Ingest = spec.Ingest{URLs: []string{"https://127.0.0.1:1/v1/ingest"}, TokenEnv: "HG_FLEET_TEST_UNSET_VARIABLE"}
	run, err := (&fleet.Runner{}).Run(context.Background(), ts)
	if err != nil {
		t.Fatal(err)
	}
	o := run.Outcomes[0]
	if o.Status != result.FleetError || !strings.Contains(o.Row.Error, "HG_FLEET_TEST_UNSET_VARIABLE") {
		t.Errorf("status %s error %q, want error naming the unset variable", o.Status, o.Row.Error)
	}
	if sum := fleet.Summarize(run, fleet.Meta{}); fleet.ExitCode(sum) != 3 {
		t.Errorf("exit %d, want 3", fleet.ExitCode(sum))
	}
}
