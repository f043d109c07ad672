package serve

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/result"
)

// serveWaivers accepts the four findings the worked example's before
// result has: two selected by label, two by target name, all until the
// last day of March 2027.
const serveWaivers = `waivers:
  - control: ingest_auth.insecure_transport
    labels: {site: plant-1}
    justification: "plant-1 moves to TLS with the new switches (OPS-7)"
    owner: "plant-1 operations"
    expires: 2027-03-31
  - control: ingest_auth.unauthenticated_ingest_allowed
    labels: {site: plant-1}
    justification: "plant-1 moves to TLS with the new switches (OPS-7)"
    owner: "plant-1 operations"
    expires: 2027-03-31
  - control: gateway_config_guardrails.auth_enforcement_disabled
    targets: [gw-1]
    justification: "config rollout OPS-8"
    owner: "platform team"
    expires: 2027-03-31
  - control: gateway_config_guardrails.unsafe_defaults_not_observable
    targets: [gw-1]
    justification: "config rollout OPS-8"
    owner: "platform team"
    expires: 2027-03-31
`

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func TestWaiversKeepAcceptedRisksFromAlertingUntilTheyExpire(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	wfile := filepath.Join(dir, "waivers.yaml")
	if err := os.WriteFile(wfile, []byte(serveWaivers), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newReceiver(t)
	cfg := webhookConfig(t, r)
	cfg.Waivers = wfile
	clock := &testClock{t: time.Date(2027, 3, 30, 12, 0, 0, 0, time.UTC)}
	exec := newFakeExec()
	st := openStore(t, "")
	s, err := New(ctx, cfg, Options{Targets: targets("gw-1"), Store: st, Executor: exec, Now: clock.now,
		Getenv: func(string) string { return testSecret }, ToolVersion: "test", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	// The alerts are read from the outbox: they are signed at the test's
	// clock, which the receiver's freshness check would refuse.
	run := func(mode string) {
		t.Helper()
		exec.set("gw-1", mode)
		s.runOne(s.byName["gw-1"], TriggerManual, clock.now())
	}

	run("pass") // the baseline
	run("regress")
	if st := s.status("gw-1"); st.Drift != StatePassing {
		t.Fatalf("drift %q after four waived findings, want passing", st.Drift)
	}
	stored, err := st.Get(ctx, "hg-gw-1-002")
	if err != nil {
		t.Fatal(err)
	}
	if stored.Summary.Status != result.AuditPass || stored.Summary.Waivers.Waived != 4 || stored.Target.Labels["site"] != "plant-1" {
		t.Errorf("stored result: status %s, %d waived, labels %v; want PASS with 4 waived and the fleet labels",
			stored.Summary.Status, stored.Summary.Waivers.Waived, stored.Target.Labels)
	}

	clock.set(time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)) // the day after the last day
	run("regress")
	alerts, err := st.Alerts(ctx, "", 0)
	if err != nil || len(alerts) != 1 {
		t.Fatalf("%d alerts (%v), want one: the regression of the expired waivers, none for the waived run", len(alerts), err)
	}
	var a AlertPayload
	if err := json.Unmarshal(alerts[0].Payload, &a); err != nil {
		t.Fatal(err)
	}
	want := []string{"gateway_config_guardrails.auth_enforcement_disabled", "gateway_config_guardrails.unsafe_defaults_not_observable",
		"ingest_auth.insecure_transport", "ingest_auth.unauthenticated_ingest_allowed"}
	if a.Event != EventRegression || a.AuditID != "hg-gw-1-003" || !slices.Equal(a.Regressed, want) {
		t.Errorf("alert %+v, want a regression of the four controls whose waivers expired", a)
	}
}

func TestWaiversFileIsReadAgainWhenItChangesAndABadEditKeepsTheLastValidOne(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	wfile := filepath.Join(dir, "waivers.yaml")
	write := func(body string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(wfile, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(wfile, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now().Add(-time.Hour)
	write("waivers: []\n", t0)
	cfg := testConfig(t, "schedule: {every: 1h, jitter: 0s}\nwaivers: "+wfile+"\n")
	clock := &testClock{t: time.Date(2027, 3, 30, 12, 0, 0, 0, time.UTC)}
	exec := newFakeExec()
	s, err := New(ctx, cfg, Options{Targets: targets("gw-1"), Store: openStore(t, ""), Executor: exec, Now: clock.now,
		ToolVersion: "test", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	exec.set("gw-1", "regress")
	waived := func() int {
		t.Helper()
		s.runOne(s.byName["gw-1"], TriggerManual, clock.now())
		return s.status("gw-1").Latest.Findings
	}
	if n := waived(); n != 4 {
		t.Fatalf("%d findings with no waivers, want 4", n)
	}
	write(serveWaivers, t0.Add(time.Minute))
	if n := waived(); n != 0 {
		t.Errorf("%d findings after the waivers file gained four waivers, want 0", n)
	}
	write(strings.Replace(serveWaivers, "ingest_auth.insecure_transport", "nope.not_a_control", 1), t0.Add(2*time.Minute))
	if n := waived(); n != 0 {
		t.Errorf("%d findings after a bad edit, want 0: the last valid waivers stay in force", n)
	}
}

func TestAnInvalidWaiversFileRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	wfile := filepath.Join(dir, "waivers.yaml")
	if err := os.WriteFile(wfile, []byte(strings.Replace(serveWaivers, "2027-03-31", "2030-01-01", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, "schedule: {every: 1h}\nwaivers: "+wfile+"\n")
	now := func() time.Time { return time.Date(2027, 3, 30, 0, 0, 0, 0, time.UTC) }
	_, err := New(context.Background(), cfg, Options{Targets: targets("gw-1"), Store: openStore(t, ""), Executor: newFakeExec(), Now: now})
	if err == nil || !strings.Contains(err.Error(), "expires") {
		t.Fatalf("New with a waiver too far ahead: %v, want an error naming expires", err)
	}
	cfg.WaiverMaxDays = 0
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "waiver_max_days") {
		t.Errorf("Validate with waiver_max_days 0: %v", err)
	}
}
