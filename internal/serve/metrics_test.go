package serve

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestMetricsShowEachTargetsPostureAndDrift(t *testing.T) {
	exec := newFakeExec()
	s := newService(t, testConfig(t, "schedule: {every: 1h, jitter: 0s}\n"), openStore(t, ""), exec, targets("gw-1", "gw-2"))
	for _, mode := range []string{"pass", "regress"} {
		exec.set("gw-1", mode)
		s.runOne(s.byName["gw-1"], TriggerManual, time.Now())
	}
	srv := dashboard(t, s)
	resp, body := get(t, http.DefaultClient, srv.URL+"/metrics")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{
		`hardgate_target_status{status="FAIL",target="gw-1"} 1`,
		`hardgate_target_status{status="PASS",target="gw-1"} 0`,
		`hardgate_target_regressed{target="gw-1"} 1`,
		`hardgate_target_regressed{target="gw-2"} 0`,
		`hardgate_regressions_total{target="gw-1"} 1`,
		`hardgate_target_findings{severity="high",target="gw-1"} 3`,
		`hardgate_target_findings{severity="medium",target="gw-1"} 1`,
		`hardgate_drift_events_total{event="regression"} 1`,
		`hardgate_audit_duration_seconds_count{outcome="done"} 2`,
		`hardgate_target_baseline_age_seconds{target="gw-1"}`,
		`hardgate_target_last_audit_timestamp_seconds{target="gw-1"}`,
		`hardgate_target_risk_score{target="gw-1"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, `hardgate_target_risk_score{target="gw-2"}`) {
		t.Error("a target never audited has a risk score")
	}
}
