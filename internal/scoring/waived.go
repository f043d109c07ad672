package scoring

import (
	"fmt"
	"strings"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/result"
)

// waivedFindings are the waived controls as findings with their waiver, by
// severity then id. They stay in the result with their evidence, apart
// from the findings: they count toward no status, posture, risk score,
// domain or backlog.
func waivedFindings(controls []result.ControlResult, cat *catalog.Catalog) []result.Finding {
	out := []result.Finding{}
	for _, cr := range controls {
		if cr.Status != result.StatusWaived {
			continue
		}
		f := finding(cr, cat)
		if cr.Waiver != nil {
			w := *cr.Waiver
			f.Waiver = &w
		}
		out = append(out, f)
	}
	sortFindings(out)
	return out
}

// waiverCounts counts the waived findings and the expired and stale waivers.
func waiverCounts(res *result.Result) result.WaiverCounts {
	n := result.WaiverCounts{Waived: len(res.Waived)}
	if res.Waivers != nil {
		n.Expired, n.Stale = len(res.Waivers.Expired), len(res.Waivers.Stale)
	}
	return n
}

// waiverNotes are the summary notes on waivers: what is waived and until
// when, which waivers expired, which matched nothing.
func waiverNotes(res *result.Result) []string {
	var notes []string
	if len(res.Waived) > 0 {
		parts := make([]string, len(res.Waived))
		for i, f := range res.Waived {
			parts[i] = f.ID
			if f.Waiver != nil {
				parts[i] += fmt.Sprintf(" (until %s, owner %s)", f.Waiver.Expires, f.Waiver.Owner)
			}
		}
		notes = append(notes, fmt.Sprintf("%d finding(s) waived as accepted risk and not counted in status, posture or risk score: %s.",
			len(res.Waived), strings.Join(parts, ", ")))
	}
	if res.Waivers == nil {
		return notes
	}
	if ws := res.Waivers.Expired; len(ws) > 0 {
		notes = append(notes, fmt.Sprintf("%d waiver(s) expired and no longer apply: %s.", len(ws), waiverList(ws)))
	}
	if ws := res.Waivers.Stale; len(ws) > 0 {
		notes = append(notes, fmt.Sprintf("%d waiver(s) match no failed control in this audit (stale; remove them): %s.", len(ws), waiverList(ws)))
	}
	return notes
}

func waiverList(ws []result.Waiver) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = fmt.Sprintf("%s (expires %s)", w.Control, w.Expires)
	}
	return strings.Join(parts, ", ")
}
