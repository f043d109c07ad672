package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/hardgate/hardgate/internal/result"
)

// renderFleetMarkdown writes fleet.md: the verdict, totals, the top
// failing controls and every gateway worst first, each linked to its report.
func renderFleetMarkdown(w io.Writer, f *result.Fleet) error {
	var b strings.Builder
	b.WriteString("# hardgate fleet report\n\n")
	fmt.Fprintf(&b, "**%s** · %s %s · %s\n\n", result.MarkdownText(f.Status), PostureMark(f.Posture), result.MarkdownText(f.Posture), result.MarkdownText(fleetHeadline(f)))
	if f.Interrupted != "" {
		fmt.Fprintf(&b, "> **Stopped early (%s).** Targets it did not finish are listed as cancelled or skipped.\n\n", result.MarkdownText(f.Interrupted))
	}
	b.WriteString("| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Fleet file | %s |\n", result.MarkdownCodeCell(f.FleetFile))
	if len(f.Selectors) > 0 {
		fmt.Fprintf(&b, "| Labels | %s |\n", result.MarkdownCodeCell(strings.Join(f.Selectors, " ")))
	}
	fmt.Fprintf(&b, "| Started | %s |\n| Duration | %s |\n| Parallel | %d |\n", fleetWhen(f.StartedAt), fleetDuration(f.DurationMS), f.Parallel)
	fmt.Fprintf(&b, "| Findings | %d (%s) |\n", f.Totals.Findings, fleetCounts(f.Totals.SeverityCounts))
	if f.Waivers != nil {
		fmt.Fprintf(&b, "| Waived | %d finding(s), not counted |\n", f.Totals.Waived)
	}
	fmt.Fprintf(&b, "| Risk score | total %d, max %d |\n", f.Totals.RiskScore, f.Totals.MaxRiskScore)
	fmt.Fprintf(&b, "| Tool | %s |\n", result.MarkdownText(f.Tool.Name+" "+f.Tool.Version))

	b.WriteString("\n## Targets by status\n\n| Status | Targets |\n|---|---:|\n")
	for _, s := range result.FleetStatuses {
		fmt.Fprintf(&b, "| %s | %d |\n", s, f.Totals.Statuses[s])
	}

	b.WriteString("\n## Top failing controls\n\n")
	if len(f.TopFailingControls) == 0 {
		b.WriteString("No control fails on any target.\n")
	} else {
		b.WriteString("| Control | Severity | Targets | Title |\n|---|---|---:|---|\n")
		for _, c := range f.TopFailingControls {
			fmt.Fprintf(&b, "| %s | %s | %d | %s |\n", result.MarkdownCodeCell(c.ID), result.MarkdownText(c.Severity), c.Targets, result.MarkdownText(c.Title))
		}
	}
	mdFleetWaivers(&b, f)

	b.WriteString("\n## Gateways, worst first\n\n")
	b.WriteString("| Gateway | Status | Posture | Risk | Findings | Labels | Report |\n|---|---|---|---:|---:|---|---|\n")
	for _, t := range WorstFirst(f.Targets) {
		link := "–"
		if t.HTMLPath != "" {
			link = "[html](" + mdLinkTarget(t.HTMLPath) + ")"
			if t.ResultPath != "" {
				link += " · [json](" + mdLinkTarget(t.ResultPath) + ")"
			}
		}
		status := result.MarkdownText(t.Status)
		if t.Error != "" {
			status += ": " + result.MarkdownText(t.Error)
		}
		fmt.Fprintf(&b, "| %s | %s | %s %s | %d | %s | %s | %s |\n", result.MarkdownText(t.Name), status,
			PostureMark(t.Posture), result.MarkdownText(orDash(t.Posture)), t.RiskScore, fleetFindings(t.Findings, t.Waived),
			result.MarkdownText(strings.Join(labelPairs(t.Labels), ", ")), link)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdLinkTarget keeps a relative link inside its parentheses: the paths are
// results/<fleet name>.html, whose characters need no escaping, but a
// hand-edited fleet.json could hold anything.
func mdLinkTarget(p string) string {
	return strings.NewReplacer("(", "%28", ")", "%29", " ", "%20", "<", "%3C", ">", "%3E", "\n", "", "\r", "").Replace(p)
}
