package report

import (
	_ "embed"
	"fmt"
	"github.com/hardgate/hardgate/internal/result"
	"html/template"
	"io"
	"strings"
	"time"
)

//go:embed assets/report.css
var styleSheet string

//go:embed assets/report.html.tmpl
var reportTemplateText string

var reportTemplate = template.Must(template.New("report").Funcs(TemplateFuncs()).Parse(reportTemplateText))

// StyleSheet is the inline CSS shared by every HTML document hardgate
// writes (the report and the delta), so they read as one family.
func StyleSheet() template.CSS { return template.CSS(styleSheet) }

// TemplateFuncs are the helpers the HTML templates use; the delta's
// template uses them too.
func TemplateFuncs() template.FuncMap {
	return template.FuncMap{
		"posture":     postureClass,
		"postureIcon": PostureIcon,
		"statusWord":  StatusWord,
		"selector":    waiverSelector,
		"waiverLine":  waiverSummary,
		"utc":         func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
		"join":        strings.Join,
		"refs": func(r []string) string {
			if len(r) == 0 {
				return "–"
			}
			return strings.Join(r, ", ")
		},
	}
}

// postureClass is a posture as a CSS class: red, amber, green or unknown.
func postureClass(p string) string {
	switch p {
	case result.PostureRed, result.PostureAmber, result.PostureGreen:
		return p
	}
	return "unknown"
}

// PostureIcon is an inline SVG traffic-light disc for a posture.
func PostureIcon(p string, size int) template.HTML {
	colour := map[string]string{result.PostureRed: "#c62828", result.PostureAmber: "#ef8f00", result.PostureGreen: "#2e7d32"}[p]
	if colour == "" {
		colour = "#9ca3af"
	}
	mark := map[string]string{
		result.PostureRed:   `<path d="M8 8 L16 16 M16 8 L8 16" stroke="#fff" stroke-width="2.6" stroke-linecap="round"/>`,
		result.PostureAmber: `<path d="M12 6.5 V13.5 M12 16.5 V17" stroke="#fff" stroke-width="2.6" stroke-linecap="round"/>`,
		result.PostureGreen: `<path d="M7 12.5 L10.5 16 L17 8.5" stroke="#fff" stroke-width="2.6" fill="none" stroke-linecap="round" stroke-linejoin="round"/>`,
	}[p]
	return template.HTML(fmt.Sprintf(`<svg class="posture-icon" width="%d" height="%d" viewBox="0 0 24 24" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg"><circle cx="12" cy="12" r="11" fill="%s"/>%s</svg>`,
		size, size, postureClass(p), colour, mark))
}

type severityBar struct {
	Severity string
	Count    int
	Width    int
	Y, TextY int
	Colour   string
}

type evidenceView struct {
	Title, Detail string
}

type findingView struct {
	result.Finding
	EvidenceViews []evidenceView
}

type reportView struct {
	Res         *result.Result
	S           result.Summary
	CSS         template.CSS
	Bars        []severityBar
	ChartHeight int
	Domains     []result.DomainPosture
	Findings    []findingView
	Waived      []findingView
	Backlog     []result.BacklogItem
	Controls    []result.ControlResult
	Meta        [][2]string
}

var severityColour = map[string]string{
	"critical": "#7f1d1d", "high": "#c62828", "medium": "#ef8f00", "low": "#1e6fb8", "info": "#6b7280",
}

// renderHTML writes one self-contained HTML file: inline CSS and SVG, no
// script, no external request (a Content-Security-Policy forbids them),
// readable in print.
func renderHTML(w io.Writer, res *result.Result, _ RenderOptions) error {
	v := reportView{Res: res, S: res.Summary, CSS: StyleSheet(), Domains: sortedDomains(res),
		Backlog: sortedBacklog(res), Controls: sortedControls(res), Meta: metadata(res)}
	counts := severityCounts(res.Summary)
	maxCount := 1
	for _, c := range counts {
		maxCount = max(maxCount, c.Count)
	}
	for i, c := range counts {
		colour := severityColour[c.Severity]
		if colour == "" {
			colour = "#6b7280"
		}
		v.Bars = append(v.Bars, severityBar{Severity: c.Severity, Count: c.Count, Width: max(4, 300*c.Count/maxCount),
			Y: i * 28, TextY: i*28 + 14, Colour: colour})
	}
	v.ChartHeight = len(counts)*28 - 6
	for _, f := range sortedFindings(res) {
		v.Findings = append(v.Findings, newFindingView(f))
	}
	for _, f := range sortedWaived(res) {
		v.Waived = append(v.Waived, newFindingView(f))
	}
	return reportTemplate.Execute(w, v)
}

func newFindingView(f result.Finding) findingView {
	fv := findingView{Finding: f}
	for _, e := range f.Evidence {
		fv.EvidenceViews = append(fv.EvidenceViews, evidenceView{Title: EvidenceTitle(e), Detail: EvidenceDetail(e)})
	}
	return fv
}
