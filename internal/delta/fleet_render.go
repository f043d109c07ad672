package delta

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/result"
)

// RenderFleet writes a fleet delta in format (one of Formats: html, json,
// md, text). Output depends only on d.
func RenderFleet(w io.Writer, d *FleetDelta, format string, opts RenderOptions) error {
	if d == nil {
		return fmt.Errorf("render fleet delta: no delta")
	}
	var err error
	switch strings.ToLower(format) {
	case "text":
		err = renderFleetText(w, d, opts)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		err = enc.Encode(d)
	case "md":
		err = renderFleetMarkdown(w, d)
	case "html":
		err = renderFleetHTML(w, d)
	default:
		return fmt.Errorf("%w %q: choose one of %s", ErrUnknownFormat, format, strings.Join(formats, ", "))
	}
	if err != nil {
		return fmt.Errorf("render fleet delta %s: %w", format, err)
	}
	return nil
}

// fleetRow is one labelled list of gateways, in print order.
type fleetRow struct {
	Key, Label string
	Names      []string
	Bad        bool
}

func (d *FleetDelta) rows() []fleetRow {
	return []fleetRow{
		{GatewayRegressed, "Regressed", d.Regressed, true},
		{GatewayImproved, "Improved", d.Improved, false},
		{GatewayAdded, "Added", d.Added, false},
		{GatewayRemoved, "Removed", d.Removed, true},
		{GatewayUnchanged, "Unchanged", d.Unchanged, false},
	}
}

func (d *FleetDelta) gateway(name string) GatewayChange {
	for _, g := range d.Gateways {
		if g.Name == name {
			return g
		}
	}
	return GatewayChange{Name: name}
}

func orAbsent(s string) string {
	if s == "" {
		return "absent"
	}
	return s
}

func renderFleetText(w io.Writer, d *FleetDelta, opts RenderOptions) error {
	paint := func(code, s string) string {
		if !opts.Color {
			return s
		}
		return code + s + "\x1b[0m"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "hardgate fleet delta: %d -> %d gateways\n", d.Before.Totals.Targets, d.After.Totals.Targets)
	fmt.Fprintf(&b, "Before: %s  %s  %s\n", when(d.Before.StartedAt), d.Before.Status, d.Before.Posture)
	fmt.Fprintf(&b, "After:  %s  %s  %s\n", when(d.After.StartedAt), d.After.Status, d.After.Posture)
	fmt.Fprintf(&b, "Fleet posture: %s -> %s (%s)\n\n", d.Posture.Before, d.Posture.After, d.Posture.Direction)
	for _, r := range d.rows() {
		n := fmt.Sprint(len(r.Names))
		if r.Bad && len(r.Names) > 0 {
			n = paint("\x1b[31;1m", n)
		}
		fmt.Fprintf(&b, "%-11s %s\n", r.Label+":", n)
	}
	for _, r := range d.rows() {
		if len(r.Names) == 0 || r.Key == GatewayUnchanged {
			continue
		}
		fmt.Fprintf(&b, "\n%s:\n", r.Label)
		for _, name := range r.Names {
			g := d.gateway(name)
			fmt.Fprintf(&b, "  %s  (%s -> %s, risk %d -> %d)", name, orAbsent(g.StatusBefore), orAbsent(g.StatusAfter), g.RiskBefore, g.RiskAfter)
			if len(g.RegressedControls) > 0 {
				fmt.Fprintf(&b, "  regressed: %s", strings.Join(g.RegressedControls, ", "))
			}
			b.WriteString("\n")
		}
	}
	if len(d.Regressed) == 0 {
		b.WriteString("\nRegressions: 0\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func renderFleetMarkdown(w io.Writer, d *FleetDelta) error {
	var b strings.Builder
	b.WriteString("# hardgate fleet delta\n\n")
	fmt.Fprintf(&b, "**Regressed gateways: %d** · Improved: %d · Added: %d · Removed: %d · Unchanged: %d\n\n",
		len(d.Regressed), len(d.Improved), len(d.Added), len(d.Removed), len(d.Unchanged))
	b.WriteString("| | Before | After |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| Started | %s | %s |\n", when(d.Before.StartedAt), when(d.After.StartedAt))
	fmt.Fprintf(&b, "| Status | **%s** | **%s** |\n", result.MarkdownText(d.Before.Status), result.MarkdownText(d.After.Status))
	fmt.Fprintf(&b, "| Posture | %s %s | %s %s |\n", report.PostureMark(d.Posture.Before), result.MarkdownText(d.Posture.Before),
		report.PostureMark(d.Posture.After), result.MarkdownText(d.Posture.After))
	fmt.Fprintf(&b, "| Gateways | %d | %d |\n", d.Before.Totals.Targets, d.After.Totals.Targets)
	fmt.Fprintf(&b, "| Failing | %d | %d |\n", d.Before.Totals.Statuses[result.FleetFail], d.After.Totals.Statuses[result.FleetFail])
	fmt.Fprintf(&b, "| Findings | %d | %d |\n", d.Before.Totals.Findings, d.After.Totals.Findings)
	for _, r := range d.rows() {
		if r.Key == GatewayUnchanged {
			continue
		}
		fmt.Fprintf(&b, "\n## %s (%d)\n\n", r.Label, len(r.Names))
		if len(r.Names) == 0 {
			b.WriteString("None.\n")
			continue
		}
		b.WriteString("| Gateway | Status | Posture | Risk | Controls |\n|---|---|---|---|---|\n")
		for _, name := range r.Names {
			g := d.gateway(name)
			ids := g.RegressedControls
			if r.Key == GatewayImproved {
				ids = g.ImprovedControls
			}
			fmt.Fprintf(&b, "| %s | %s → %s | %s → %s | %d → %d | %s |\n", result.MarkdownText(name), orAbsent(g.StatusBefore), orAbsent(g.StatusAfter),
				result.MarkdownText(orAbsent(g.PostureBefore)), result.MarkdownText(orAbsent(g.PostureAfter)), g.RiskBefore, g.RiskAfter,
				result.MarkdownCodeCell(strings.Join(ids, " ")))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

//go:embed fleet.html.tmpl
var fleetHTMLText string

var fleetHTMLTemplate = template.Must(template.New("fleetdelta").Funcs(report.TemplateFuncs()).Funcs(template.FuncMap{
	"when":   when,
	"absent": orAbsent,
}).Parse(fleetHTMLText))

type fleetHTMLRow struct {
	fleetRow
	Gateways []GatewayChange
}

func renderFleetHTML(w io.Writer, d *FleetDelta) error {
	v := struct {
		D    *FleetDelta
		CSS  template.CSS
		Rows []fleetHTMLRow
	}{D: d, CSS: report.StyleSheet()}
	for _, r := range d.rows() {
		hr := fleetHTMLRow{fleetRow: r}
		for _, n := range r.Names {
			hr.Gateways = append(hr.Gateways, d.gateway(n))
		}
		v.Rows = append(v.Rows, hr)
	}
	return fleetHTMLTemplate.Execute(w, v)
}
