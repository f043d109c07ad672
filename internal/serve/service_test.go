package serve

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/store"
	"github.com/hardgate/hardgate/internal/store/pgtest"
)

// startWebhook runs the service's webhook sender (fast retries) until the
// test ends, for tests that call runOne without the scheduler.
func startWebhook(t *testing.T, s *Service) {
	t.Helper()
	s.webhook.base = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.webhook.loop(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func webhookConfig(t *testing.T, r *receiver) *Config {
	return testConfig(t, "schedule: {every: 1h, jitter: 0s}\nalerts:\n  webhook: {url: \""+r.srv.URL+"/hook\", secret_env: HOOK_SECRET}\n")
}

func TestDriftRaisesOneSignedAlertPerStateChange(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			loc := ""
			if engine == "postgres" {
				loc = pgtest.DSN(t)
			}
			testDriftAlerts(t, openStore(t, loc))
		})
	}
}

func testDriftAlerts(t *testing.T, st *store.Store) {
	ctx := context.Background()
	r := newReceiver(t)
	exec := newFakeExec()
	tg := targets("gw-1", "gw-2")
	s := newService(t, webhookConfig(t, r), st, exec, tg)
	startWebhook(t, s)
	run := func(name, mode string) {
		t.Helper()
		exec.set(name, mode)
		s.runOne(s.byName[name], TriggerManual, time.Now())
	}

	run("gw-1", "pass")
	base, err := st.Baseline(ctx, "gw-1")
	if err != nil || base.AuditID != "hg-gw-1-001" || base.By != "serve" || base.Reason != "first PASS" {
		t.Fatalf("the first PASS is not the baseline: %+v %v", base, err)
	}
	run("gw-1", "pass")
	run("gw-1", "regress")
	run("gw-1", "regress")
	run("gw-1", "error") // a run that fails changes no state
	waitFor(t, "the regression alert", func() bool { return len(r.received()) == 1 })
	run("gw-1", "pass")
	run("gw-2", "regress") // FAIL without a baseline: nothing to drift from
	run("gw-2", "regress")
	waitFor(t, "the recovery alert", func() bool { return len(r.received()) == 2 })

	if got := r.events(); got != "regression:gw-1 recovered:gw-1" {
		t.Errorf("alerts %q, want one regression then one recovery", got)
	}
	if len(r.bad) > 0 {
		t.Errorf("badly signed deliveries: %v", r.bad)
	}
	a := r.received()[0]
	if a.AuditID != "hg-gw-1-003" || a.BaselineID != "hg-gw-1-001" || a.RiskBefore != 0 || a.RiskAfter == 0 ||
		a.PostureBefore != "green" || a.PostureAfter != "red" || a.Status != "FAIL" || a.Labels["site"] != "plant-1" {
		t.Errorf("regression alert %+v", a)
	}
	want := []string{"gateway_config_guardrails.auth_enforcement_disabled", "gateway_config_guardrails.unsafe_defaults_not_observable",
		"ingest_auth.insecure_transport", "ingest_auth.unauthenticated_ingest_allowed"}
	if !slices.Equal(a.Regressed, want) {
		t.Errorf("regressed %v, want %v", a.Regressed, want)
	}
	if st := s.status("gw-2"); st.Drift != StateNoBaseline || st.Baseline != nil {
		t.Errorf("gw-2 status %+v", st)
	}
	runs, _ := st.Runs(ctx, "gw-1", 0)
	if len(runs) != 6 || runs[1].State != store.RunFailed || !strings.Contains(runs[1].Error, "HARDGATE_TOKEN") {
		t.Errorf("runs %+v", runs)
	}

	// A new process on the same history: the state is read back, the same
	// regression does not alert again, and no alert is sent twice.
	run("gw-1", "regress")
	waitFor(t, "the second regression alert", func() bool { return len(r.received()) == 3 })
	s2 := newService(t, webhookConfig(t, r), st, exec, tg)
	startWebhook(t, s2)
	exec.set("gw-1", "regress")
	s2.runOne(s2.byName["gw-1"], TriggerSchedule, time.Now())
	if st := s2.status("gw-1"); st.Drift != StateRegressed || st.Latest == nil || st.Latest.AuditID != "hg-gw-1-008" {
		t.Errorf("after restart %+v", st)
	}
	alerts, _ := st.Alerts(ctx, "", 0)
	if len(alerts) != 3 {
		t.Errorf("outbox holds %d alerts after the restart, want 3", len(alerts))
	}
	if got := r.events(); got != "regression:gw-1 recovered:gw-1 regression:gw-1" {
		t.Errorf("alerts %q", got)
	}
}

func TestWebhookRetriesWithBackoffUntilDelivered(t *testing.T) {
	r := newReceiver(t)
	r.fail = 3
	exec := newFakeExec()
	st := openStore(t, "")
	s := newService(t, webhookConfig(t, r), st, exec, targets("gw-1"))
	startWebhook(t, s)
	exec.set("gw-1", "pass")
	s.runOne(s.byName["gw-1"], TriggerManual, time.Now())
	exec.set("gw-1", "regress")
	started := time.Now()
	s.runOne(s.byName["gw-1"], TriggerManual, time.Now())
	if d := time.Since(started); d > time.Second {
		t.Errorf("the audit waited %v on the failing webhook", d)
	}
	waitFor(t, "delivery after three refusals", func() bool {
		alerts, _ := st.Alerts(context.Background(), "gw-1", 0)
		return len(alerts) == 1 && !alerts[0].DeliveredAt.IsZero()
	})
	alerts, _ := st.Alerts(context.Background(), "gw-1", 0)
	if len(r.received()) != 1 || alerts[0].Attempts != 4 || alerts[0].LastError != "" {
		t.Errorf("received %d, outbox attempts %d last error %q", len(r.received()), alerts[0].Attempts, alerts[0].LastError)
	}
}

func TestBackoffDoublesUpToTheCap(t *testing.T) {
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, backoff(n, time.Second, 10*time.Second))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("backoff %v, want %v", got, want)
	}
	if backoff(100, time.Second, time.Minute) != time.Minute {
		t.Error("a huge attempt count overflowed")
	}
}

func TestSignatureVerification(t *testing.T) {
	body := []byte(`{"event":"regression"}`)
	now := time.Unix(1_800_000_000, 0)
	sig := Sign([]byte(testSecret), now, body)
	tests := []struct {
		name   string
		secret string
		header string
		body   []byte
		at     time.Time
		ok     bool
	}{
		{"the right secret body and time verify", testSecret, sig, body, now, true},
		{"another secret fails", "another-secret-0123456789", sig, body, now, false},
		{"a changed body fails", testSecret, sig, []byte(`{"event":"recovered"}`), now, false},
		{"a replay an hour later fails", testSecret, sig, body, now.Add(time.Hour), false},
		{"a missing timestamp fails", testSecret, strings.Replace(sig, "t=", "x=", 1), body, now, false},
		{"an empty header fails", testSecret, "", body, now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify([]byte(tt.secret), tt.header, tt.body, tt.at, 5*time.Minute)
			if (err == nil) != tt.ok {
				t.Errorf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestAShortWebhookSecretRefusesToStart(t *testing.T) {
	r := newReceiver(t)
	_, err := New(context.Background(), webhookConfig(t, r), Options{Store: openStore(t, ""), Getenv: func(string) string { return "short" }})
	if err == nil || !strings.Contains(err.Error(), "HOOK_SECRET") {
		t.Fatalf("err = %v, want a refusal naming the variable", err)
	}
}
