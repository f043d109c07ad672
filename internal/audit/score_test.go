package audit

import (
	"fmt"
	"testing"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/report"
)

func TestSummarizeScoresAndJudges(t *testing.T) {
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	type c struct {
		severity string
		status   report.Status
	}
	tests := []struct {
		name        string
		controls    []c
		wantStatus  string
		wantPosture string
		wantRisk    int
	}{
		{"all passing is PASS, green, risk 0", []c{{"high", report.StatusPass}, {"medium", report.StatusPass}}, report.AuditPass, report.PostureGreen, 0},
		{"not applicable controls do not count", []c{{"high", report.StatusNotApplicable}, {"low", report.StatusPass}}, report.AuditPass, report.PostureGreen, 0},
		{"the worked example's 3 high and 1 medium score 70, red", []c{{"high", report.StatusFail}, {"high", report.StatusFail}, {"high", report.StatusFail}, {"medium", report.StatusFail}}, report.AuditFail, report.PostureRed, 70},
		{"one medium finding is amber", []c{{"medium", report.StatusFail}, {"high", report.StatusPass}}, report.AuditFail, report.PostureAmber, 10},
		{"one critical finding is red", []c{{"critical", report.StatusFail}}, report.AuditFail, report.PostureRed, 40},
		{"a low finding fails the audit and still scores", []c{{"low", report.StatusFail}}, report.AuditFail, report.PostureGreen, 3},
		{"an info finding passes but the score is not 0", []c{{"info", report.StatusFail}}, report.AuditPass, report.PostureGreen, 1},
		{"the score is capped at 100", []c{{"critical", report.StatusFail}, {"critical", report.StatusFail}, {"critical", report.StatusFail}}, report.AuditFail, report.PostureRed, 100},
		{"an undecided control without findings is INCONCLUSIVE, never PASS", []c{{"high", report.StatusPass}, {"high", report.StatusError}}, report.AuditInconclusive, report.PostureUnknown, 0},
		{"a finding outranks an undecided control", []c{{"high", report.StatusFail}, {"high", report.StatusError}}, report.AuditFail, report.PostureRed, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := &report.Result{}
			for i, ctl := range tt.controls {
				res.Controls = append(res.Controls, report.ControlResult{
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
