package scoring

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/result"
)

func TestSummarizeScoresAndJudges(t *testing.T) {
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	type c struct {
		severity string
		status   result.Status
	}
	tests := []struct {
		name        string
		controls    []c
		wantStatus  string
		wantPosture string
		wantRisk    int
	}{
		{"all passing is PASS, green, risk 0", []c{{"high", result.StatusPass}, {"medium", result.StatusPass}}, result.AuditPass, result.PostureGreen, 0},
		{"not applicable controls do not count", []c{{"high", result.StatusNotApplicable}, {"low", result.StatusPass}}, result.AuditPass, result.PostureGreen, 0},
		{"the worked example's 3 high and 1 medium score 70, red", []c{{"high", result.StatusFail}, {"high", result.StatusFail}, {"high", result.StatusFail}, {"medium", result.StatusFail}}, result.AuditFail, result.PostureRed, 70},
		{"one medium finding is amber", []c{{"medium", result.StatusFail}, {"high", result.StatusPass}}, result.AuditFail, result.PostureAmber, 10},
		{"one critical finding is red", []c{{"critical", result.StatusFail}}, result.AuditFail, result.PostureRed, 40},
		{"a low finding fails the audit and still scores", []c{{"low", result.StatusFail}}, result.AuditFail, result.PostureGreen, 3},
		{"an info finding passes but the score is not 0", []c{{"info", result.StatusFail}}, result.AuditPass, result.PostureGreen, 1},
		{"the score is capped at 100", []c{{"critical", result.StatusFail}, {"critical", result.StatusFail}, {"critical", result.StatusFail}}, result.AuditFail, result.PostureRed, 100},
		{"an undecided control without findings is INCONCLUSIVE, never PASS", []c{{"high", result.StatusPass}, {"high", result.StatusError}}, result.AuditInconclusive, result.PostureUnknown, 0},
		{"a finding outranks an undecided control", []c{{"high", result.StatusFail}, {"high", result.StatusError}}, result.AuditFail, result.PostureRed, 20},
		{"a waived high finding counts toward no status, posture or risk", []c{{"high", result.StatusWaived}, {"medium", result.StatusPass}}, result.AuditPass, result.PostureGreen, 0},
		{"a waived critical beside a medium finding leaves it amber at 10", []c{{"critical", result.StatusWaived}, {"medium", result.StatusFail}}, result.AuditFail, result.PostureAmber, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := &result.Result{}
			for i, ctl := range tt.controls {
				res.Controls = append(res.Controls, result.ControlResult{
					ID: fmt.Sprintf("test.control_%02d", i), Title: "t", Severity: ctl.severity,
					Domains: []string{catalog.Domains[0]}, Status: ctl.status,
				})
			}
			Summarize(res, cat)
			s := res.Summary
			if s.Status != tt.wantStatus || s.Posture != tt.wantPosture || s.RiskScore != tt.wantRisk {
				t.Fatalf("status %s, posture %s, risk %d; want %s, %s, %d", s.Status, s.Posture, s.RiskScore, tt.wantStatus, tt.wantPosture, tt.wantRisk)
			}
			if (s.RiskScore == 0) != (len(res.Findings) == 0) {
				t.Errorf("risk %d with %d findings: the score must be 0 exactly when there are no findings", s.RiskScore, len(res.Findings))
			}
			if len(res.Backlog) != len(res.Findings) {
				t.Errorf("%d backlog items for %d findings", len(res.Backlog), len(res.Findings))
			}
		})
	}
}

func TestWaivedControlsStayInTheResultWithTheirWaiver(t *testing.T) {
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	w := &result.Waiver{Control: "test.waived", Targets: []string{"gw"}, Justification: "legacy sensors", Owner: "ops", Expires: "2027-03-31"}
	res := &result.Result{
		Controls: []result.ControlResult{
			{ID: "test.waived", Title: "t", Severity: "high", Domains: []string{catalog.Domains[0]}, Status: result.StatusWaived, Reason: "weak", Waiver: w},
			{ID: "test.failed", Title: "t", Severity: "low", Domains: []string{catalog.Domains[0]}, Status: result.StatusFail},
		},
		Waivers: &result.WaiverReport{Expired: []result.Waiver{{Control: "test.failed", Expires: "2020-01-01"}}, Stale: []result.Waiver{}},
	}
	Summarize(res, cat)
	if len(res.Waived) != 1 || res.Waived[0].ID != "test.waived" || res.Waived[0].Waiver == nil || res.Waived[0].Waiver.Owner != "ops" {
		t.Fatalf("waived = %+v, want test.waived with its waiver", res.Waived)
	}
	if len(res.Findings) != 1 || res.Findings[0].ID != "test.failed" || len(res.Backlog) != 1 {
		t.Fatalf("findings %+v, backlog %d: want only test.failed", res.Findings, len(res.Backlog))
	}
	s := res.Summary
	if s.Controls.Waived != 1 || s.Waivers != (result.WaiverCounts{Waived: 1, Expired: 1}) || s.SeverityCounts["high"] != 0 {
		t.Errorf("counts %+v, waivers %+v, high %d", s.Controls, s.Waivers, s.SeverityCounts["high"])
	}
	if s.Domains[0].Findings != 1 || s.Domains[0].Posture != result.PostureGreen {
		t.Errorf("domain %+v: the waived high finding must not make it red", s.Domains[0])
	}
	notes := fmt.Sprint(s.Notes)
	for _, want := range []string{"test.waived (until 2027-03-31, owner ops)", "1 waiver(s) expired and no longer apply: test.failed (expires 2020-01-01)"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
}
