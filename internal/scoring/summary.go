package scoring

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/result"
)

// SeverityWeights are the risk points one finding adds, by severity. The
// risk score is their sum, capped at 100; it is 0 exactly when there are no
// findings. Documented in docs/scoring.md.
var SeverityWeights = map[string]int{"critical": 40, "high": 20, "medium": 10, "low": 3, "info": 1}

// MaxRiskScore caps the risk score.
const MaxRiskScore = 100

// Priorities map severities to backlog priorities.
var Priorities = map[string]string{"critical": "P0", "high": "P1", "medium": "P2", "low": "P3", "info": "P4"}

// Summarize fills findings, backlog and summary from res.Controls. It is
// deterministic: everything it writes is sorted.
func Summarize(res *result.Result, cat *catalog.Catalog) {
	slices.SortFunc(res.Controls, func(a, b result.ControlResult) int { return strings.Compare(a.ID, b.ID) })
	s := result.Summary{SeverityCounts: map[string]int{}, Domains: []result.DomainPosture{}, Notes: []string{}}
	for _, sev := range result.Severities {
		s.SeverityCounts[sev] = 0
	}
	errored := countControls(res.Controls, &s.Controls)
	res.Findings = findings(res.Controls, cat)
	res.Waived = waivedFindings(res.Controls, cat)
	for _, f := range res.Findings {
		s.SeverityCounts[f.Severity]++
	}
	res.Backlog = backlog(res.Findings, cat)
	failing := 0
	for _, f := range res.Findings {
		s.RiskScore += SeverityWeights[f.Severity]
		if f.Severity != "info" {
			failing++
		}
	}
	s.RiskScore = min(s.RiskScore, MaxRiskScore)
	s.Findings = len(res.Findings)
	switch {
	case failing > 0:
		s.Status = result.AuditFail
	case s.Controls.Error > 0:
		s.Status = result.AuditInconclusive
	default:
		s.Status = result.AuditPass
	}
	s.Posture = posture(res.Findings, s.Controls.Error > 0)
	s.Domains = domains(res.Controls, res.Findings)
	positive := controlStatus(res, "ingest_auth.authenticated_ingest_rejected")
	s.PositiveControlRan = positive == result.StatusPass || positive == result.StatusFail
	if !s.PositiveControlRan && len(res.Target.IngestURLs) > 0 {
		s.Notes = append(s.Notes, "The positive control did not run (no valid token was given, or it could not be sent safely): "+
			"the audit has not shown that the gateway accepts legitimate devices, so a gateway that refuses everyone would look the same.")
	}
	if len(errored) > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("%d control(s) could not be decided and are not counted as passed: %s.", len(errored), strings.Join(errored, ", ")))
	}
	s.Waivers = waiverCounts(res)
	s.Notes = append(s.Notes, waiverNotes(res)...)
	s.Headline, s.NextStep = headline(res.Target.Name, &s, res.Backlog)
	if s.Waivers.Waived > 0 {
		s.Headline += fmt.Sprintf(" %d finding(s) waived as accepted risk, not counted.", s.Waivers.Waived)
	}
	res.Summary = s
}

// countControls counts the controls by status and returns the ids of
// those that could not be decided.
func countControls(controls []result.ControlResult, n *result.ControlCounts) (errored []string) {
	for _, cr := range controls {
		n.Total++
		switch cr.Status {
		case result.StatusPass:
			n.Pass++
		case result.StatusFail:
			n.Fail++
		case result.StatusNotApplicable:
			n.NotApplicable++
		case result.StatusError:
			n.Error++
			errored = append(errored, cr.ID)
		case result.StatusWaived:
			n.Waived++
		}
	}
	return errored
}

// findings are the failed controls with their catalog text, by severity
// then id.
func findings(controls []result.ControlResult, cat *catalog.Catalog) []result.Finding {
	out := []result.Finding{}
	for _, cr := range controls {
		if cr.Status != result.StatusFail {
			continue
		}
		out = append(out, finding(cr, cat))
	}
	sortFindings(out)
	return out
}

// finding is a failed (or waived) control with its catalog text.
func finding(cr result.ControlResult, cat *catalog.Catalog) result.Finding {
	f := result.Finding{ID: cr.ID, Title: cr.Title, Severity: cr.Severity, Domains: cr.Domains, Reason: cr.Reason, Evidence: cr.Evidence}
	if c, ok := cat.Get(cr.ID); ok {
		f.Risk, f.Remediation, f.Verification, f.References = c.Risk, c.Remediation, c.Verification, c.References
	}
	return f
}

// sortFindings orders findings by severity, then id.
func sortFindings(out []result.Finding) {
	slices.SortStableFunc(out, func(a, b result.Finding) int {
		if d := result.SeverityRank(a.Severity) - result.SeverityRank(b.Severity); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// backlog is one ticket per finding, in finding order.
func backlog(findings []result.Finding, cat *catalog.Catalog) []result.BacklogItem {
	out := []result.BacklogItem{}
	for i, f := range findings {
		item := result.BacklogItem{
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
		out = append(out, item)
	}
	return out
}

// domains is the posture of every domain with at least one applicable
// control, in catalog order.
func domains(controls []result.ControlResult, findings []result.Finding) []result.DomainPosture {
	out := []result.DomainPosture{}
	for _, d := range catalog.Domains {
		dp := result.DomainPosture{Name: d}
		for _, cr := range controls {
			if !slices.Contains(cr.Domains, d) || cr.Status == result.StatusNotApplicable {
				continue
			}
			dp.Controls++
			if cr.Status == result.StatusError {
				dp.Errors++
			}
		}
		if dp.Controls == 0 {
			continue
		}
		var inDomain []result.Finding
		for _, f := range findings {
			if slices.Contains(f.Domains, d) {
				inDomain = append(inDomain, f)
			}
		}
		dp.Findings = len(inDomain)
		dp.Posture = posture(inDomain, dp.Errors > 0)
		out = append(out, dp)
	}
	return out
}

func controlStatus(res *result.Result, id string) result.Status {
	for _, cr := range res.Controls {
		if cr.ID == id {
			return cr.Status
		}
	}
	return ""
}

// posture is red for any critical or high finding, amber for any medium,
// unknown when controls errored and nothing failed, else green.
func posture(findings []result.Finding, errored bool) string {
	worst := len(result.Severities)
	for _, f := range findings {
		worst = min(worst, result.SeverityRank(f.Severity))
	}
	switch {
	case worst <= result.SeverityRank("high"):
		return result.PostureRed
	case worst == result.SeverityRank("medium"):
		return result.PostureAmber
	case errored && len(findings) == 0:
		return result.PostureUnknown
	default:
		return result.PostureGreen
	}
}

// CountsText renders severity counts as "3 high, 1 medium" (only non-zero).
func CountsText(counts map[string]int) string {
	var parts []string
	for _, sev := range result.Severities {
		if n := counts[sev]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, sev))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func headline(target string, s *result.Summary, backlog []result.BacklogItem) (string, string) {
	switch s.Status {
	case result.AuditFail:
		h := fmt.Sprintf("%s fails the audit: %d finding(s) (%s), posture %s, risk score %d.",
			target, s.Findings, CountsText(s.SeverityCounts), s.Posture, s.RiskScore)
		next := fmt.Sprintf("Work the backlog from the top (%s: %s), then re-audit and run hardgate diff against this result.",
			backlog[0].ID, backlog[0].Title)
		return h, next
	case result.AuditInconclusive:
		h := fmt.Sprintf("%s could not be fully audited: %d control(s) undecided; nothing failed, but nothing is proven either.", target, s.Controls.Error)
		return h, "Make the undecided controls answer (reachability, deadlines, trust anchor), then re-run the audit."
	default:
		h := fmt.Sprintf("%s passes the audit: 0 findings, posture %s, risk score %d.", target, s.Posture, s.RiskScore)
		return h, "Keep this result as the reference baseline and gate every release with: hardgate audit ... --baseline this-result.json"
	}
}
