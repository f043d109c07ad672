package serve

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/store"
)

func TestSchedulerBoundsConcurrencyAndNeverOverlapsATarget(t *testing.T) {
	exec := newFakeExec()
	exec.release = make(chan struct{})
	names := []string{"gw-1", "gw-2", "gw-3", "gw-4", "gw-5"}
	s := newService(t, testConfig(t, "schedule: {every: 1s, jitter: 0s}\nconcurrency: 2\n"), openStore(t, ""), exec, targets(names...))
	runService(t, s)

	waitFor(t, "two audits to start", func() bool {
		exec.mu.Lock()
		defer exec.mu.Unlock()
		return exec.nowRun == 2
	})
	// While they hang past their next due time, no third audit starts and
	// neither of the two starts again.
	exec.mu.Lock()
	var busy string
	for name, n := range exec.running {
		if n > 0 {
			busy = name
		}
	}
	exec.mu.Unlock()
	if err := s.RunNow(busy); !errors.Is(err, ErrRunning) {
		t.Errorf("audit now of running %s: err = %v, want ErrRunning", busy, err)
	}
	close(exec.release)
	waitFor(t, "every target to be audited twice", func() bool {
		for _, n := range names {
			if exec.count(n) < 2 {
				return false
			}
		}
		return true
	})
	exec.mu.Lock()
	defer exec.mu.Unlock()
	if exec.maxRun != 2 {
		t.Errorf("%d audits ran at once, want at most 2", exec.maxRun)
	}
	if exec.overlap {
		t.Error("two audits of one target overlapped")
	}
}

func TestARestartRunsMissedAuditsOnceNotOncePerMissedSlot(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, "")
	// The previous process last ran gw-1 ten hours ago (ten runs missed)
	// and gw-2 ten minutes ago (not due yet); gw-3 never ran.
	now := time.Now()
	for name, ago := range map[string]time.Duration{"gw-1": 10 * time.Hour, "gw-2": 10 * time.Minute} {
		id, err := st.StartRun(ctx, name, TriggerSchedule, now.Add(-ago))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.FinishRun(ctx, id, store.RunDone, "", "", now.Add(-ago)); err != nil {
			t.Fatal(err)
		}
	}
	exec := newFakeExec()
	s := newService(t, testConfig(t, "schedule: {every: 1h, jitter: 0s}\n"), st, exec, targets("gw-1", "gw-2", "gw-3"))
	runService(t, s)
	waitFor(t, "the catch-up and the first run", func() bool { return exec.count("gw-1") == 1 && exec.count("gw-3") == 1 })
	waitFor(t, "their next runs to be planned", func() bool { return !s.sched.info("gw-1").Running && !s.sched.info("gw-3").Running })
	for _, name := range []string{"gw-1", "gw-3"} {
		if next := s.sched.info(name).Next; next.Before(now.Add(59 * time.Minute)) {
			t.Errorf("%s runs again at %v, want an hour after its run", name, next)
		}
	}
	if next := s.sched.info("gw-2").Next; next.Sub(now.Add(50*time.Minute)).Abs() > time.Second {
		t.Errorf("gw-2 runs at %v, want an hour after its last run", next)
	}
	runs, _ := st.Runs(ctx, "", 0)
	triggers := map[string]string{}
	for _, r := range runs {
		if _, seen := triggers[r.Target]; !seen {
			triggers[r.Target] = r.Trigger
		}
	}
	if triggers["gw-1"] != TriggerCatchUp || triggers["gw-3"] != TriggerFirst || exec.count("gw-2") != 0 {
		t.Errorf("newest triggers %v, gw-2 audited %d times", triggers, exec.count("gw-2"))
	}
}

func TestAuditNowOfAnUnknownTargetIsRefused(t *testing.T) {
	s := newService(t, testConfig(t, "schedule: {every: 1h}\n"), openStore(t, ""), newFakeExec(), targets("gw-1"))
	if err := s.RunNow("gw-1"); err == nil {
		t.Error("audit now before Run was accepted")
	}
	runService(t, s)
	if err := s.RunNow("nope"); !errors.Is(err, ErrUnknownTarget) {
		t.Errorf("err = %v, want ErrUnknownTarget", err)
	}
}

func TestShutdownCancelsHangingAuditsAfterTheGraceAndMarksThem(t *testing.T) {
	st := openStore(t, "")
	exec := newFakeExec()
	exec.set("gw-1", "hang")
	s := newService(t, testConfig(t, "schedule: {every: 1h, jitter: 0s}\nshutdown_grace: 100ms\n"), st, exec, targets("gw-1", "gw-2"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, "gw-2's audit to finish and gw-1's to hang", func() bool {
		runs, _ := st.Runs(context.Background(), "gw-2", 0)
		return exec.count("gw-1") == 1 && len(runs) == 1 && runs[0].State == store.RunDone
	})
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the grace")
	}
	runs, _ := st.Runs(context.Background(), "gw-1", 0)
	if len(runs) != 1 || runs[0].State != store.RunCancelled {
		t.Errorf("gw-1 runs %+v, want one cancelled", runs)
	}
	if all, _ := st.List(context.Background(), store.Filter{Target: "gw-1"}); len(all) != 0 {
		t.Errorf("the result of a cancelled audit was stored: %v", all)
	}
}
