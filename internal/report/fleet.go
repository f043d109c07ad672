package report

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hardgate/hardgate/internal/result"
)

// FleetFormats lists the formats RenderFleet accepts.
func FleetFormats() []string { return []string{"html", "json", "md", "text"} }

// RenderFleet writes a fleet summary in format (one of FleetFormats). The
// output depends only on f.
func RenderFleet(w io.Writer, f *result.Fleet, format string) error {
	if f == nil {
		return fmt.Errorf("render fleet: no fleet summary")
	}
	var err error
	switch strings.ToLower(format) {
	case "json":
		err = result.EncodeFleet(w, f)
	case "md":
		err = renderFleetMarkdown(w, f)
	case "html":
		err = renderFleetHTML(w, f)
	case "text":
		err = renderFleetText(w, f)
	default:
		return fmt.Errorf("%w %q: choose one of %s", ErrUnknownFormat, format, strings.Join(FleetFormats(), ", "))
	}
	if err != nil {
		return fmt.Errorf("render fleet %s: %w", format, err)
	}
	return nil
}

// WorstFirst orders fleet targets for reading: failing first, then error,
// inconclusive, cancelled, skipped, pass; within a status red before amber,
// unknown and green, then the higher risk score, then by name.
func WorstFirst(targets []result.FleetTarget) []result.FleetTarget {
	out := slices.Clone(targets)
	slices.SortStableFunc(out, func(a, b result.FleetTarget) int {
		if d := slices.Index(result.FleetStatuses, a.Status) - slices.Index(result.FleetStatuses, b.Status); d != 0 {
			return d
		}
		if d := postureOrder(a.Posture) - postureOrder(b.Posture); d != 0 {
			return d
		}
		if a.RiskScore != b.RiskScore {
			return b.RiskScore - a.RiskScore
		}
		return naturalCompare(a.Name, b.Name)
	})
	return out
}

func postureOrder(p string) int {
	switch p {
	case result.PostureRed:
		return 0
	case result.PostureAmber:
		return 1
	case result.PostureUnknown, "":
		return 2
	}
	return 3
}

// fleetDomains is every domain named by a target, sorted.
func fleetDomains(f *result.Fleet) []string {
	set := map[string]bool{}
	for _, t := range f.Targets {
		for d := range t.Domains {
			set[d] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// labelPairs is "key=value" for every label, sorted by key.
func labelPairs(labels map[string]string) []string {
	out := make([]string, 0, len(labels))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		out = append(out, k+"="+labels[k])
	}
	return out
}

func fleetHeadline(f *result.Fleet) string {
	s := f.Totals.Statuses
	line := fmt.Sprintf("%d targets: %d fail, %d pass", f.Totals.Targets, s[result.FleetFail], s[result.FleetPass])
	var rest []string
	for _, st := range []string{result.FleetInconclusive, result.FleetError, result.FleetCancelled, result.FleetSkipped} {
		if s[st] > 0 {
			rest = append(rest, fmt.Sprintf("%d %s", s[st], st))
		}
	}
	if len(rest) > 0 {
		line += ", " + strings.Join(rest, ", ")
	}
	return line
}

func fleetWhen(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

func fleetDuration(ms int64) string {
	return (time.Duration(ms) * time.Millisecond).Round(100 * time.Millisecond).String()
}

// renderFleetText is the short summary printed after a fleet audit.
func renderFleetText(w io.Writer, f *result.Fleet) error {
	var b strings.Builder
	fmt.Fprintf(&b, "hardgate fleet: %s  %s %s  (%s)\n", f.Status, PostureMark(f.Posture), f.Posture, fleetHeadline(f))
	if f.Interrupted != "" {
		fmt.Fprintf(&b, "Stopped early (%s): the targets it did not finish are cancelled or skipped.\n", f.Interrupted)
	}
	fmt.Fprintf(&b, "Findings: %d (%s); risk score total %d, max %d; %s with --parallel %d\n",
		f.Totals.Findings, fleetCounts(f.Totals.SeverityCounts), f.Totals.RiskScore, f.Totals.MaxRiskScore, fleetDuration(f.DurationMS), f.Parallel)
	textFleetWaivers(&b, f)
	if len(f.TopFailingControls) > 0 {
		b.WriteString("\nTop failing controls:\n")
		for _, c := range f.TopFailingControls[:min(5, len(f.TopFailingControls))] {
			fmt.Fprintf(&b, "  %4d targets  %-8s %s\n", c.Targets, c.Severity, c.ID)
		}
	}
	worst := WorstFirst(f.Targets)
	shown := 0
	for _, t := range worst {
		if t.Status == result.FleetPass || shown == 10 {
			break
		}
		if shown == 0 {
			b.WriteString("\nWorst targets:\n")
		}
		shown++
		fmt.Fprintf(&b, "  %-13s %-24s %-7s risk %3d  %s findings", t.Status, t.Name, orDash(t.Posture), t.RiskScore, fleetFindings(t.Findings, t.Waived))
		if t.Error != "" {
			fmt.Fprintf(&b, "  %s", t.Error)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func fleetCounts(m map[string]int) string {
	parts := make([]string, 0, len(result.Severities))
	for _, s := range result.Severities {
		parts = append(parts, fmt.Sprintf("%d %s", m[s], s))
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

//go:embed assets/fleet.html.tmpl
var fleetTemplateText string

// fleetScript filters the grid by label. The page reads the same without
// it: every gateway is listed, and the filter form stays hidden.
const fleetScript = `(function(){var f=document.getElementById("filters");if(!f)return;f.hidden=false;` +
	`var rows=[].slice.call(document.querySelectorAll("#grid tbody tr"));var shown=document.getElementById("shown");` +
	`function apply(){var want=[].slice.call(f.querySelectorAll("select")).filter(function(s){return s.value!==""}).map(function(s){return s.name+"="+s.value});` +
	`var n=0;rows.forEach(function(r){var have=(r.getAttribute("data-labels")||"").split("\n");` +
	`var ok=want.every(function(w){return have.indexOf(w)>=0});r.hidden=!ok;if(ok)n++});shown.textContent=String(n)}` +
	`f.addEventListener("change",apply);apply()})();`

var fleetTemplate = template.Must(template.New("fleet").Funcs(TemplateFuncs()).Funcs(template.FuncMap{
	"when":     fleetWhen,
	"duration": fleetDuration,
	"dash":     orDash,
	"labels":   func(m map[string]string) string { return strings.Join(labelPairs(m), "\n") },
	"domain":   func(t result.FleetTarget, d string) string { return t.Domains[d] },
	"sev":      func(t result.FleetTarget, s string) int { return t.SeverityCounts[s] },
	"selects":  waiverSelector,
	"waivers":  fleetWaiverLine,
}).Parse(fleetTemplateText))

type labelFilter struct {
	Key    string
	Values []string
}

type fleetView struct {
	F          *result.Fleet
	CSS        template.CSS
	CSP        string
	Script     template.JS
	Headline   string
	Targets    []result.FleetTarget
	Domains    []string
	Severities []string
	Filters    []labelFilter
}

func renderFleetHTML(w io.Writer, f *result.Fleet) error {
	sum := sha256.Sum256([]byte(fleetScript))
	v := fleetView{F: f, CSS: StyleSheet() + template.CSS(fleetCSS), Script: template.JS(fleetScript),
		CSP:      "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'",
		Headline: fleetHeadline(f), Targets: WorstFirst(f.Targets), Domains: fleetDomains(f), Severities: result.Severities}
	values := map[string]map[string]bool{}
	for _, t := range f.Targets {
		for k, val := range t.Labels {
			if values[k] == nil {
				values[k] = map[string]bool{}
			}
			values[k][val] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		v.Filters = append(v.Filters, labelFilter{Key: k, Values: slices.Sorted(maps.Keys(values[k]))})
	}
	return fleetTemplate.Execute(w, v)
}

// fleetCSS adds the grid's cells to the shared style sheet.
const fleetCSS = `
.grid-wrap { overflow-x: auto; }
#grid td.cell { text-align: center; font-size: 12px; font-weight: 700; text-transform: uppercase; }
#grid td.cell.red { background: var(--red-bg); color: var(--red); }
#grid td.cell.amber { background: var(--amber-bg); color: var(--amber); }
#grid td.cell.green { background: var(--green-bg); color: var(--green); }
#grid td.cell.unknown { background: var(--grey-bg); color: var(--grey); }
#grid th.domain { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; font-size: 12px; }
.badge.cancelled, .badge.skipped { background: var(--grey-bg); color: var(--grey); }
.labels { color: var(--muted); font-size: 12px; white-space: pre-line; }
#filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: end; margin: 8px 0; }
#filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
.stopped { border-left: 4px solid var(--amber); }
`
