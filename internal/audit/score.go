package audit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/report"
)

// SeverityWeights are the risk points one finding adds, by severity. The
// risk score is their sum, capped at 100; it is 0 exactly when there are no
// findings. Documented in docs/scoring.md.
var SeverityWeights = map[string]int{"critical": 40, "high": 20, "medium": 10, "low": 3, "info": 1}

// MaxRiskScore caps the risk score.
const MaxRiskScore = 100

// Priorities map severities to backlog priorities.
var Priorities = map[string]string{"critical": "P0", "high": "P1", "medium": "P2", "low": "P3", "info": "P4"}

func severityRank(s string) int { return slices.Index(report.Severities, s) }

// Summarize fills findings, backlog and summary from res.Controls. It is
// deterministic: everything it writes is sorted.
func Summarize(res *report.Result, cat *catalog.Catalog) {
	slices.SortFunc(res.Controls, func(a, b report.ControlResult) int { return strings.Compare(a.ID, b.ID) })
	res.Findings = []report.Finding{}
	res.Backlog = []report.BacklogItem{}
	s := report.Summary{SeverityCounts: map[string]int{}, Domains: []report.DomainPosture{}, Notes: []string{}}
	for _, sev := range report.Severities {
		s.SeverityCounts[sev] = 0
	}
	var errored []string
	for _, cr := range res.Controls {
		s.Controls.Total++
		switch cr.Status {
		case report.StatusPass:
			s.Controls.Pass++
		case report.StatusFail:
			s.Controls.Fail++
		case report.StatusNotApplicable:
			s.Controls.NotApplicable++
		case report.StatusError:
			s.Controls.Error++
			errored = append(errored, cr.ID)
		}
		if cr.Status != report.StatusFail {
			continue
		}
		c, _ := cat.Get(cr.ID)
		f := report.Finding{ID: cr.ID, Title: cr.Title, Severity: cr.Severity, Domains: cr.Domains, Reason: cr.Reason, Evidence: cr.Evidence}
		if c != nil {
			f.Risk, f.Remediation, f.Verification, f.References = c.Risk, c.Remediation, c.Verification, c.References
		}
		res.Findings = append(res.Findings, f)
		s.SeverityCounts[cr.Severity]++
	}
	slices.SortStableFunc(res.Findings, func(a, b report.Finding) int {
		if d := severityRank(a.Severity) - severityRank(b.Severity); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	failing := 0
	for i, f := range res.Findings {
		s.RiskScore += SeverityWeights[f.Severity]
		if f.Severity != "info" {
			failing++
		}
		item := report.BacklogItem{
			ID: fmt.Sprintf("HG-%02d", i+1), ControlID: f.ID, Title: f.Title,
			Priority: Priorities[f.Severity], Severity: f.Severity,
			AcceptanceTest: f.Verification.Request + " → expect " + f.Verification.Expected,
		}
		if len(f.Domains) > 0 {
			item.Domain = f.Domains[0]
		}
		if c, ok := cat.Get(f.ID); ok {
			item.Title, item.Owner = c.Action, c.Owner
		}
		res.Backlog = append(res.Backlog, item)
	}
	s.RiskScore = min(s.RiskScore, MaxRiskScore)
	s.Findings = len(res.Findings)

	switch {
	case failing > 0:
		s.Status = report.AuditFail
	case s.Controls.Error > 0:
		s.Status = report.AuditInconclusive
	default:
		s.Status = report.AuditPass
	}
	s.Posture = posture(res.Findings, s.Controls.Error > 0)
	for _, d := range catalog.Domains {
		dp := report.DomainPosture{Name: d}
		var inDomain []report.Finding
		for _, cr := range res.Controls {
			if !slices.Contains(cr.Domains, d) || cr.Status == report.StatusNotApplicable {
				continue
			}
			dp.Controls++
			if cr.Status == report.StatusError {
				dp.Errors++
			}
		}
		for _, f := range res.Findings {
			if slices.Contains(f.Domains, d) {
				inDomain = append(inDomain, f)
			}
		}
		if dp.Controls == 0 {
			continue
		}
		dp.Findings = len(inDomain)
		dp.Posture = posture(inDomain, dp.Errors > 0)
		s.Domains = append(s.Domains, dp)
	}

	positive := controlStatus(res, "ingest_auth.authenticated_ingest_rejected")
	s.PositiveControlRan = positive == report.StatusPass || positive == report.StatusFail
	if !s.PositiveControlRan && len(res.Target.IngestURLs) > 0 {
		s.Notes = append(s.Notes, "The positive control did not run (no valid token was given, or it could not be sent safely): "+
			"the audit has not shown that the gateway accepts legitimate devices, so a gateway that refuses everyone would look the same.")
	}
	if len(errored) > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("%d control(s) could not be decided and are not counted as passed: %s.", len(errored), strings.Join(errored, ", ")))
	}
	s.Headline, s.NextStep = headline(res.Target.Name, &s, res.Backlog)
	res.Summary = s
}

func controlStatus(res *report.Result, id string) report.Status {
	for _, cr := range res.Controls {
		if cr.ID == id {
			return cr.Status
		}
	}
	return ""
}

// posture is red for any critical or high finding, amber for any medium,
// unknown when controls errored and nothing failed, else green.
func posture(findings []report.Finding, errored bool) string {
	worst := len(report.Severities)
	for _, f := range findings {
		worst = min(worst, severityRank(f.Severity))
	}
	switch {
	case worst <= severityRank("high"):
		return report.PostureRed
	case worst == severityRank("medium"):
		return report.PostureAmber
	case errored && len(findings) == 0:
		return report.PostureUnknown
	default:
		return report.PostureGreen
	}
}

// CountsText renders severity counts as "3 high, 1 medium" (only non-zero).
func CountsText(counts map[string]int) string {
	var parts []string
	for _, sev := range report.Severities {
		if n := counts[sev]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, sev))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func headline(target string, s *report.Summary, backlog []report.BacklogItem) (string, string) {
	switch s.Status {
	case report.AuditFail:
		h := fmt.Sprintf("%s fails the audit: %d finding(s) (%s), posture %s, risk score %d.",
			target, s.Findings, CountsText(s.SeverityCounts), s.Posture, s.RiskScore)
		next := fmt.Sprintf("Work the backlog from the top (%s: %s), then re-audit and run hardgate diff against this result.",
			backlog[0].ID, backlog[0].Title)
		return h, next
	case report.AuditInconclusive:
		h := fmt.Sprintf("%s could not be fully audited: %d control(s) undecided; nothing failed, but nothing is proven either.", target, s.Controls.Error)
		return h, "Make the undecided controls answer (reachability, deadlines, trust anchor), then re-run the audit."
	default:
		h := fmt.Sprintf("%s passes the audit: 0 findings, posture %s, risk score %d.", target, s.Posture, s.RiskScore)
		return h, "Keep this result as the reference baseline and gate every release with: hardgate audit ... --baseline this-result.json"
	}
}
