package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
)

var tr0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// withWorkedExample opens a history holding the worked example's two
// audits and the other target's.
func withWorkedExample(t *testing.T, e engine) *Store {
	t.Helper()
	s := e.open(t)
	if _, err := s.AddAll(context.Background(), []*result.Result{reporttest.WorkedExampleBefore(), reporttest.WorkedExampleAfter(), otherTarget()}); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBaselines(t *testing.T) { onEachEngine(t, testBaselines) }

func testBaselines(t *testing.T, e engine) {
	ctx := context.Background()
	s := withWorkedExample(t, e)
	target := reporttest.WorkedExampleAfter().Target.Name

	if _, err := s.Baseline(ctx, target); !errors.Is(err, ErrNoBaseline) {
		t.Fatalf("before any: err = %v, want ErrNoBaseline", err)
	}
	set, err := s.SetBaselineIfNone(ctx, BaselineChange{Target: target, AuditID: "hg-0000000000000002", At: tr0, By: "serve", Reason: "first PASS"})
	if err != nil || !set {
		t.Fatalf("first baseline: set=%v err=%v", set, err)
	}
	set, err = s.SetBaselineIfNone(ctx, BaselineChange{Target: target, AuditID: "hg-0000000000000001", At: tr0.Add(time.Hour), By: "serve", Reason: "first PASS"})
	if err != nil || set {
		t.Fatalf("a second automatic baseline: set=%v err=%v, want not set", set, err)
	}
	if err := s.SetBaseline(ctx, BaselineChange{Target: target, AuditID: "hg-0000000000000001", At: tr0.Add(2 * time.Hour), By: "alice", Reason: "accepted risk"}); err != nil {
		t.Fatal(err)
	}

	t.Run("the newest change is the baseline", func(t *testing.T) {
		got, err := s.Baseline(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		if got.AuditID != "hg-0000000000000001" || got.By != "alice" || got.Reason != "accepted risk" || !got.At.Equal(tr0.Add(2*time.Hour)) {
			t.Errorf("baseline %+v", got)
		}
	})
	t.Run("every change is kept with who when and why newest first", func(t *testing.T) {
		hist, err := s.BaselineHistory(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != 2 || hist[0].By != "alice" || hist[1].By != "serve" || hist[1].Reason != "first PASS" || !hist[1].At.Equal(tr0) {
			t.Errorf("history %+v", hist)
		}
	})
	t.Run("baselines lists the current one per target", func(t *testing.T) {
		if err := s.SetBaseline(ctx, BaselineChange{Target: "substation-gateway", AuditID: "hg-0000000000000003", By: "bob"}); err != nil {
			t.Fatal(err)
		}
		all, err := s.Baselines(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[target].AuditID != "hg-0000000000000001" || all["substation-gateway"].AuditID != "hg-0000000000000003" {
			t.Errorf("baselines %+v", all)
		}
	})
	t.Run("an audit of another target is refused", func(t *testing.T) {
		err := s.SetBaseline(ctx, BaselineChange{Target: target, AuditID: "hg-0000000000000003", By: "bob"})
		if !errors.Is(err, ErrWrongTarget) {
			t.Fatalf("err = %v, want ErrWrongTarget", err)
		}
	})
	t.Run("an unknown audit is refused", func(t *testing.T) {
		err := s.SetBaseline(ctx, BaselineChange{Target: target, AuditID: "hg-nope", By: "bob"})
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
}

func TestDriftQueuesOneAlertPerStateChange(t *testing.T) {
	onEachEngine(t, testDriftQueuesOneAlertPerStateChange)
}

func testDriftQueuesOneAlertPerStateChange(t *testing.T, e engine) {
	ctx := context.Background()
	loc := e.location(t)
	s, err := Open(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	judge := func(s *Store, state, audit string, at time.Time) bool {
		t.Helper()
		changed, err := s.RecordDrift(ctx, DriftState{Target: "gw-1", State: state, AuditID: audit, BaselineID: "hg-base", ChangedAt: at},
			&Alert{Target: "gw-1", Event: state, AuditID: audit, Payload: []byte(`{"event":"` + state + `"}`), CreatedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		return changed
	}
	steps := []struct {
		state, audit string
		changed      bool
	}{
		{"passing", "a1", true}, {"passing", "a2", false}, {"regressed", "a3", true},
		{"regressed", "a4", false}, {"regressed", "a5", false},
	}
	for i, st := range steps {
		if got := judge(s, st.state, st.audit, tr0.Add(time.Duration(i)*time.Minute)); got != st.changed {
			t.Errorf("step %d (%s): changed=%v, want %v", i, st.state, got, st.changed)
		}
	}
	s.Close()

	// A restart reads the state back: the same state again queues nothing.
	s, err = Open(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	states, err := s.DriftStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st := states["gw-1"]; st.State != "regressed" || st.AuditID != "a3" || !st.ChangedAt.Equal(tr0.Add(2*time.Minute)) {
		t.Errorf("state after restart %+v", st)
	}
	if judge(s, "regressed", "a6", tr0.Add(time.Hour)) {
		t.Error("the same state after a restart counted as a change")
	}
	if !judge(s, "passing", "a7", tr0.Add(2*time.Hour)) {
		t.Error("recovery was not a change")
	}
	alerts, err := s.Alerts(ctx, "gw-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, a := range alerts {
		events = append(events, a.Event+"@"+a.AuditID)
	}
	if want := "passing@a7 regressed@a3 passing@a1"; join(events) != want {
		t.Errorf("alerts %v, want %s", events, want)
	}
}

func TestAlertOutboxRetriesUntilDelivered(t *testing.T) { onEachEngine(t, testAlertOutbox) }

func testAlertOutbox(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.open(t)
	for i, target := range []string{"gw-1", "gw-2"} {
		at := tr0.Add(time.Duration(i) * time.Second)
		if _, err := s.RecordDrift(ctx, DriftState{Target: target, State: "regressed", ChangedAt: at},
			&Alert{Target: target, Event: "regression", AuditID: "a-" + target, Payload: []byte{0, 1, 2, 255}, CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	pending, err := s.PendingAlerts(ctx, tr0.Add(time.Minute), 10)
	if err != nil || len(pending) != 2 || pending[0].Target != "gw-1" || string(pending[0].Payload) != "\x00\x01\x02\xff" {
		t.Fatalf("pending %+v err %v", pending, err)
	}
	if err := s.AlertFailed(ctx, pending[0].ID, 1, tr0.Add(10*time.Minute), "connection refused"); err != nil {
		t.Fatal(err)
	}
	if err := s.AlertDelivered(ctx, pending[1].ID, 1, tr0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if due, ok, err := s.NextAlertDue(ctx); err != nil || !ok || !due.Equal(tr0.Add(10*time.Minute)) {
		t.Errorf("next due %v %v %v", due, ok, err)
	}
	if p, _ := s.PendingAlerts(ctx, tr0.Add(5*time.Minute), 10); len(p) != 0 {
		t.Errorf("an alert waiting for its retry is pending: %+v", p)
	}
	p, _ := s.PendingAlerts(ctx, tr0.Add(10*time.Minute), 10)
	if len(p) != 1 || p[0].Attempts != 1 || p[0].LastError != "connection refused" {
		t.Fatalf("due retry %+v", p)
	}
	if err := s.AlertDelivered(ctx, p[0].ID, 2, tr0.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.NextAlertDue(ctx); ok {
		t.Error("an alert is still due after every one was delivered")
	}
	all, _ := s.Alerts(ctx, "", 0)
	if len(all) != 2 || all[1].Attempts != 2 || all[1].DeliveredAt.IsZero() {
		t.Errorf("alerts %+v", all)
	}
}

func TestRuns(t *testing.T) { onEachEngine(t, testRuns) }

func testRuns(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.open(t)
	a, err := s.StartRun(ctx, "gw-1", "schedule", tr0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.StartRun(ctx, "gw-1", "manual", tr0.Add(time.Minute))
	c, _ := s.StartRun(ctx, "gw-2", "catch-up", tr0.Add(2*time.Minute))
	if err := s.FinishRun(ctx, a, RunDone, "hg-1", "", tr0.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRun(ctx, c, RunCancelled, "", "shutdown", tr0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	n, err := s.AbandonRuns(ctx, tr0.Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("abandoned %d (%v), want 1", n, err)
	}
	runs, err := s.Runs(ctx, "gw-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].ID != b || runs[0].State != RunAbandoned || runs[1].State != RunDone || runs[1].AuditID != "hg-1" {
		t.Errorf("runs %+v", runs)
	}
	last, err := s.LastRunStarts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !last["gw-1"].Equal(tr0.Add(time.Minute)) || !last["gw-2"].Equal(tr0.Add(2*time.Minute)) {
		t.Errorf("last starts %v", last)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

func TestRecentKeepsTheNewestAuditsOfEachTarget(t *testing.T) {
	onEachEngine(t, func(t *testing.T, e engine) {
		s := withWorkedExample(t, e)
		got, err := s.Recent(context.Background(), 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || len(got["plant-gateway"]) != 1 || got["plant-gateway"][0].AuditID != "hg-0000000000000002" || got["substation-gateway"][0].AuditID != "hg-0000000000000003" {
			t.Errorf("recent(1) %+v", got)
		}
		got, _ = s.Recent(context.Background(), 5)
		if p := got["plant-gateway"]; len(p) != 2 || p[0].AuditID != "hg-0000000000000001" || p[1].AuditID != "hg-0000000000000002" {
			t.Errorf("recent(5) of plant-gateway %+v, want oldest first", p)
		}
		if _, err := s.Recent(context.Background(), 0); err == nil {
			t.Error("n=0 accepted")
		}
	})
}
