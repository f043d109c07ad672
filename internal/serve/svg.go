package serve

import (
	"fmt"
	"html/template"
	"strings"

	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/store"
)

// postureColour is the colour of a posture in the charts.
func postureColour(p string) string {
	switch p {
	case result.PostureRed:
		return "#c62828"
	case result.PostureAmber:
		return "#ef8f00"
	case result.PostureGreen:
		return "#2e7d32"
	}
	return "#9ca3af"
}

// chart places points on a plot area.
type chart struct {
	w, h, left, right, top, bottom float64
	maxY                           float64
	n                              int
}

func (c chart) x(i int) float64 {
	if c.n <= 1 {
		return c.left + (c.w-c.left-c.right)/2
	}
	return c.left + float64(i)*(c.w-c.left-c.right)/float64(c.n-1)
}

func (c chart) y(v float64) float64 {
	return c.top + (1-v/c.maxY)*(c.h-c.top-c.bottom)
}

// riskScale is the chart's top: the largest risk, at least 10.
func riskScale(points []store.Entry) float64 {
	top := 10.0
	for _, p := range points {
		top = max(top, float64(p.RiskScore))
	}
	return top
}

// sparkline is a small inline SVG of the risk of the recent audits, a dot
// per audit coloured by its posture.
func sparkline(points []store.Entry) template.HTML {
	if len(points) == 0 {
		return `<span class="muted">no audit yet</span>`
	}
	c := chart{w: 120, h: 28, left: 4, right: 4, top: 4, bottom: 4, maxY: riskScale(points), n: len(points)}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="spark" width="120" height="28" viewBox="0 0 120 28" role="img" aria-label="risk over the last %d audits" xmlns="http://www.w3.org/2000/svg">`, len(points))
	b.WriteString(`<polyline fill="none" stroke="#24416b" stroke-width="1.5" points="`)
	for i, p := range points {
		fmt.Fprintf(&b, "%.1f,%.1f ", c.x(i), c.y(float64(p.RiskScore)))
	}
	b.WriteString(`"/>`)
	for i, p := range points {
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.2" fill="%s"/>`, c.x(i), c.y(float64(p.RiskScore)), postureColour(p.Posture))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// trendChart is the target page's chart: risk over time as a line, each
// audit a dot coloured by posture (with a tooltip), a band along the
// bottom showing posture, and the baseline marked.
func trendChart(points []store.Entry, baselineID string) template.HTML {
	if len(points) == 0 {
		return `<p class="muted">No audit yet.</p>`
	}
	c := chart{w: 960, h: 260, left: 48, right: 16, top: 16, bottom: 56, maxY: riskScale(points), n: len(points)}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="trend-chart" class="trend" width="100%%" viewBox="0 0 %.0f %.0f" role="img" aria-label="risk score and posture of the last %d audits" xmlns="http://www.w3.org/2000/svg">`, c.w, c.h, len(points))
	for _, v := range []float64{0, c.maxY / 2, c.maxY} {
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#d9dee7"/><text x="%.0f" y="%.1f" font-size="11" text-anchor="end" fill="#5b6475">%.0f</text>`,
			c.left, c.w-c.right, c.y(v), c.y(v), c.left-6, c.y(v)+4, v)
	}
	fmt.Fprintf(&b, `<text x="12" y="%.0f" font-size="11" fill="#5b6475" transform="rotate(-90 12 %.0f)">risk</text>`, c.h/2, c.h/2)
	b.WriteString(`<polyline class="risk-line" fill="none" stroke="#24416b" stroke-width="2" points="`)
	for i, p := range points {
		fmt.Fprintf(&b, "%.1f,%.1f ", c.x(i), c.y(float64(p.RiskScore)))
	}
	b.WriteString(`"/>`)
	band := c.h - c.bottom + 14
	bw := (c.w - c.left - c.right) / float64(max(len(points), 1))
	for i, p := range points {
		x, y := c.x(i), c.y(float64(p.RiskScore))
		if p.AuditID == baselineID {
			fmt.Fprintf(&b, `<line class="baseline-mark" x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f" stroke="#24416b" stroke-dasharray="4 3"/>`, x, x, c.top, band)
		}
		fmt.Fprintf(&b, `<circle class="point" cx="%.1f" cy="%.1f" r="5" fill="%s"><title>%s · %s · %s · risk %d</title></circle>`,
			x, y, postureColour(p.Posture), template.HTMLEscapeString(p.AuditID), p.StartedAt.UTC().Format("2006-01-02 15:04:05Z"),
			template.HTMLEscapeString(p.Status), p.RiskScore)
		x0, x1 := max(c.left, x-bw/2), min(c.w-c.right, x+bw/2)
		fmt.Fprintf(&b, `<rect class="posture-band" x="%.1f" y="%.0f" width="%.1f" height="10" fill="%s"/>`, x0, band, x1-x0, postureColour(p.Posture))
	}
	first, last := points[0].StartedAt.UTC(), points[len(points)-1].StartedAt.UTC()
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11" fill="#5b6475">%s</text>`, c.left, c.h-8, first.Format("2006-01-02 15:04Z"))
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11" text-anchor="end" fill="#5b6475">%s</text>`, c.w-c.right, c.h-8, last.Format("2006-01-02 15:04Z"))
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11" text-anchor="end" fill="#5b6475">posture</text>`, c.left-6, band+9)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
