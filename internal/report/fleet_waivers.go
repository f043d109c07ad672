package report

import (
	"fmt"
	"strings"

	"github.com/hardgate/hardgate/internal/result"
)

// fleetFindings is a gateway's findings with its waived ones beside them:
// "3" or "3 (+1 waived)".
func fleetFindings(findings, waived int) string {
	if waived == 0 {
		return fmt.Sprint(findings)
	}
	return fmt.Sprintf("%d (+%d waived)", findings, waived)
}

// fleetWaiverLine is the one-line account of the fleet's waivers.
func fleetWaiverLine(w *result.FleetWaivers) string {
	return fmt.Sprintf("%d finding(s) waived as accepted risk, not counted; %d of %d waiver(s) expired, %d stale across the fleet",
		w.Waived, len(w.Expired), w.Count, len(w.Stale))
}

// mdFleetWaivers writes the fleet's waivers section: what was waived, and
// every expired and stale waiver once; nothing without --waivers.
func mdFleetWaivers(b *strings.Builder, f *result.Fleet) {
	w := f.Waivers
	if w == nil {
		return
	}
	fmt.Fprintf(b, "\n## Waivers\n\nWaivers file %s: %s. Each gateway's report lists its waived findings with their waiver.\n",
		result.MarkdownCodeCell(w.File), result.MarkdownText(fleetWaiverLine(w)))
	if len(w.Expired) > 0 {
		b.WriteString("\n### Expired waivers (ignored: what they covered counts again)\n\n| Control | Expired | Selects | Gateways | Owner | Justification |\n|---|---|---|---|---|---|\n")
		for _, e := range w.Expired {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", result.MarkdownCodeCell(e.Waiver.Control), result.MarkdownText(e.Waiver.Expires),
				result.MarkdownText(waiverSelector(e.Waiver)), result.MarkdownText(orDash(strings.Join(e.Targets, ", "))),
				result.MarkdownText(e.Waiver.Owner), result.MarkdownText(e.Waiver.Justification))
		}
	}
	if len(w.Stale) > 0 {
		b.WriteString("\n### Stale waivers (they match no failed control on any gateway)\n\n| Control | Expires | Selects | Owner | Justification |\n|---|---|---|---|---|\n")
		for _, s := range w.Stale {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", result.MarkdownCodeCell(s.Control), result.MarkdownText(s.Expires),
				result.MarkdownText(waiverSelector(s)), result.MarkdownText(s.Owner), result.MarkdownText(s.Justification))
		}
	}
}

// textFleetWaivers is the waivers line of the text summary.
func textFleetWaivers(b *strings.Builder, f *result.Fleet) {
	if f.Waivers == nil {
		return
	}
	fmt.Fprintf(b, "Waivers: %s\n", fleetWaiverLine(f.Waivers))
}
