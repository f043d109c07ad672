package report

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hardgate/hardgate/internal/result"
)

// waivedCount is ", N waived" for a controls line, or "" without waived controls.
func waivedCount(s result.Summary) string {
	if s.Controls.Waived == 0 {
		return ""
	}
	return fmt.Sprintf(", %d waived", s.Controls.Waived)
}

// waiverSummary is the one-line account of the waivers applied.
func waiverSummary(s result.Summary) string {
	return fmt.Sprintf("%d finding(s) waived as accepted risk, not counted; %d waiver(s) expired, %d stale",
		s.Waivers.Waived, s.Waivers.Expired, s.Waivers.Stale)
}

// waiverSelector says which targets a waiver selects: "targets gw-1, gw-2;
// labels site=plant-1".
func waiverSelector(w result.Waiver) string {
	var parts []string
	if len(w.Targets) > 0 {
		parts = append(parts, "targets "+strings.Join(w.Targets, ", "))
	}
	if len(w.Labels) > 0 {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(w.Labels)) {
			kv = append(kv, k+"="+w.Labels[k])
		}
		parts = append(parts, "labels "+strings.Join(kv, ", "))
	}
	return strings.Join(parts, "; ")
}

// mdWaiverLines writes a waiver as list items under a finding.
func mdWaiverLines(b *strings.Builder, w result.Waiver) {
	fmt.Fprintf(b, "- Waived until: **%s** (owner: %s)\n", result.MarkdownText(w.Expires), result.MarkdownText(w.Owner))
	fmt.Fprintf(b, "- Justification: %s\n", result.MarkdownText(w.Justification))
	fmt.Fprintf(b, "- Waiver selects: %s", result.MarkdownText(waiverSelector(w)))
	if w.Match != "" {
		fmt.Fprintf(b, ", where the evidence contains %s", result.MarkdownCode(w.Match))
	}
	b.WriteString("\n")
}

// mdWaived writes the section of waived findings and of the waivers that
// expired or matched nothing; nothing when no waivers file was applied.
func mdWaived(b *strings.Builder, res *result.Result) {
	if res.Waivers == nil && len(res.Waived) == 0 {
		return
	}
	waived := sortedWaived(res)
	fmt.Fprintf(b, "## Waived findings (%d)\n\n", len(waived))
	b.WriteString("Accepted risks: each failed its control and keeps its evidence, but a waiver accepts it until its last day, " +
		"so it counts toward no status, posture, risk score or backlog item.\n\n")
	if len(waived) == 0 {
		b.WriteString("No waived findings.\n\n")
	}
	for i, f := range waived {
		mdFinding(b, fmt.Sprintf("W%d.", i+1), f)
	}
	if res.Waivers == nil {
		return
	}
	for _, group := range []struct {
		title string
		ws    []result.Waiver
	}{
		{"Expired waivers (ignored: what they covered counts again)", res.Waivers.Expired},
		{"Stale waivers (they match no failed control of this audit)", res.Waivers.Stale},
	} {
		if len(group.ws) == 0 {
			continue
		}
		fmt.Fprintf(b, "### %s\n\n| Control | Selects | Match | Expires | Owner | Justification |\n|---|---|---|---|---|---|\n", group.title)
		for _, w := range group.ws {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", result.MarkdownCodeCell(w.Control), result.MarkdownText(waiverSelector(w)),
				result.MarkdownCodeCell(w.Match), result.MarkdownText(w.Expires), result.MarkdownText(w.Owner), result.MarkdownText(w.Justification))
		}
		b.WriteString("\n")
	}
}

// textWaived is the text format's lines for waived findings.
func textWaived(res *result.Result) string {
	waived := sortedWaived(res)
	if len(waived) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\nWaived (accepted risk, not counted):\n")
	for _, f := range waived {
		line := fmt.Sprintf("  %s  %s", strings.ToUpper(f.Severity), f.ID)
		if w := f.Waiver; w != nil {
			line += fmt.Sprintf(": until %s, owner %s: %s", w.Expires, w.Owner, oneLine(w.Justification))
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}
