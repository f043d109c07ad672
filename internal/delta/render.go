package delta

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/result"
)

// RenderOptions tune a delta renderer.
type RenderOptions struct {
	// Color adds ANSI colours to the text format.
	Color bool
}

// ErrUnknownFormat is returned by Render for a format it does not know.
var ErrUnknownFormat = errors.New("unknown delta format")

var formats = []string{"html", "json", "md", "text"}

// Formats lists the formats Render accepts, sorted.
func Formats() []string { return append([]string(nil), formats...) }

// Render writes d in format (one of Formats) to w. Output depends only on d.
func Render(w io.Writer, d *Delta, format string, opts RenderOptions) error {
	if d == nil {
		return errors.New("render delta: no delta")
	}
	var err error
	if strings.ToLower(format) != "json" {
		d = result.Escaped(d) // target names, URLs, reasons: see report.Render
	}
	switch strings.ToLower(format) {
	case "text":
		err = renderText(w, d, opts)
	case "json":
		err = Encode(w, d)
	case "md":
		err = renderMarkdown(w, d)
	case "html":
		err = renderHTML(w, d)
	default:
		return fmt.Errorf("%w %q: choose one of %s", ErrUnknownFormat, format, strings.Join(formats, ", "))
	}
	if err != nil {
		return fmt.Errorf("render delta %s: %w", format, err)
	}
	return nil
}

// Encode writes the delta as indented JSON with a trailing newline.
func Encode(w io.Writer, d *Delta) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return err
	}
	_, err := w.Write(result.EscapeJSON(buf.Bytes()))
	return err
}

// countRow is one labelled count of the delta, in print order.
type countRow struct {
	Key, Label string
	IDs        []string
	// Bad is true when a non-zero count is bad news.
	Bad bool
}

func (d *Delta) rows() []countRow {
	return []countRow{
		{Improved, "Improved", d.Improved, false},
		{Regressed, "Regressed", d.Regressed, true},
		{StillFailing, "Still failing", d.StillFailing, true},
		{"new_failing", "New and failing", d.NewFailing, true},
		{Inconclusive, "Still undecided", d.Inconclusive, true},
		{Waived, "Waived", d.Waived, false},
		{StillPassing, "Still passing", d.StillPassing, false},
		{NewlyPassing, "Newly passing", d.NewlyPassing, false},
		{New, "New controls", d.New, false},
		{Removed, "Removed controls", d.Removed, false},
		{NotApplicable, "Not applicable", d.NotApplicable, false},
	}
}

func (d *Delta) change(id string) Change {
	for _, c := range d.Changes {
		if c.ID == id {
			return c
		}
	}
	return Change{ID: id}
}

func statusOr(s result.Status, absent string) string {
	if s == "" {
		return absent
	}
	return string(s)
}

func when(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

func signed(n int) string {
	if n > 0 {
		return fmt.Sprintf("+%d", n)
	}
	return fmt.Sprint(n)
}

func renderText(w io.Writer, d *Delta, opts RenderOptions) error {
	paint := func(code, s string) string {
		if !opts.Color {
			return s
		}
		return code + s + "\x1b[0m"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "hardgate delta: %s\n", d.After.Target)
	if d.DifferentTargets {
		fmt.Fprintf(&b, "WARNING: comparing different targets (%s and %s)\n", d.Before.Target, d.After.Target)
	}
	for _, s := range []struct {
		label string
		side  Side
	}{{"Before:", d.Before}, {"After:", d.After}} {
		fmt.Fprintf(&b, "%-7s %s (%s)  %s  %s  risk %d  %d findings\n", s.label, s.side.AuditID, when(s.side.FinishedAt),
			s.side.Summary.Status, s.side.Summary.Posture, s.side.Summary.RiskScore, s.side.Summary.Findings)
	}
	fmt.Fprintf(&b, "Posture: %s -> %s (%s)   Risk: %d -> %d (%s)\n\n", d.Posture.Before, d.Posture.After, d.Posture.Direction,
		d.Risk.Before, d.Risk.After, signed(d.Risk.Change))
	for _, r := range d.rows() {
		n := fmt.Sprintf("%d", len(r.IDs))
		switch {
		case r.Bad && len(r.IDs) > 0:
			n = paint("\x1b[31;1m", n)
		case r.Key == Regressed || (r.Key == Improved && len(r.IDs) > 0):
			n = paint("\x1b[32;1m", n)
		}
		fmt.Fprintf(&b, "%-17s %s\n", r.Label+":", n)
	}
	for _, r := range d.rows() {
		if len(r.IDs) == 0 || r.Key == StillPassing || r.Key == NewlyPassing || r.Key == NotApplicable {
			continue
		}
		fmt.Fprintf(&b, "\n%s:\n", r.Label)
		for _, id := range r.IDs {
			c := d.change(id)
			fmt.Fprintf(&b, "  %s  (%s -> %s)\n", id, statusOr(c.Before, "absent"), statusOr(c.After, "absent"))
		}
	}
	if len(d.Regressed) == 0 {
		b.WriteString("\nRegressions: 0\n")
	}
	fmt.Fprintf(&b, "\nReference point: %s (the after result, %s) is now the baseline for the next review.\n", d.Reference.AuditID, when(d.Reference.FinishedAt))
	_, err := io.WriteString(w, b.String())
	return err
}

func renderMarkdown(w io.Writer, d *Delta) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# hardgate delta: %s\n\n", result.MarkdownText(d.After.Target))
	if d.DifferentTargets {
		fmt.Fprintf(&b, "> **Warning:** these results are of different targets (%s and %s).\n\n", result.MarkdownText(d.Before.Target), result.MarkdownText(d.After.Target))
	}
	fmt.Fprintf(&b, "**Regressions: %d** · Improved: %d · Still failing: %d · New and failing: %d\n\n",
		len(d.Regressed), len(d.Improved), len(d.StillFailing), len(d.NewFailing))
	b.WriteString("| | Before | After | Change |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| Audit | %s | %s | |\n", result.MarkdownCodeCell(d.Before.AuditID), result.MarkdownCodeCell(d.After.AuditID))
	fmt.Fprintf(&b, "| Finished | %s | %s | |\n", when(d.Before.FinishedAt), when(d.After.FinishedAt))
	fmt.Fprintf(&b, "| Status | **%s** | **%s** | |\n", result.MarkdownText(d.Before.Summary.Status), result.MarkdownText(d.After.Summary.Status))
	fmt.Fprintf(&b, "| Posture | %s %s | %s %s | %s |\n", report.PostureMark(d.Posture.Before), result.MarkdownText(d.Posture.Before),
		report.PostureMark(d.Posture.After), result.MarkdownText(d.Posture.After), d.Posture.Direction)
	fmt.Fprintf(&b, "| Risk score | %d | %d | %s |\n", d.Risk.Before, d.Risk.After, signed(d.Risk.Change))
	fmt.Fprintf(&b, "| Findings | %d | %d | %s |\n", d.Before.Summary.Findings, d.After.Summary.Findings,
		signed(d.After.Summary.Findings-d.Before.Summary.Findings))
	b.WriteString("\n## Counts\n\n| Change | Controls |\n|---|---:|\n")
	for _, r := range d.rows() {
		fmt.Fprintf(&b, "| %s | %d |\n", r.Label, len(r.IDs))
	}
	for _, r := range d.rows() {
		if r.Key == StillPassing || r.Key == NewlyPassing || r.Key == NotApplicable {
			continue
		}
		fmt.Fprintf(&b, "\n## %s (%d)\n\n", r.Label, len(r.IDs))
		if len(r.IDs) == 0 {
			b.WriteString("None.\n")
			continue
		}
		b.WriteString("| Control | Severity | Before | After |\n|---|---|---|---|\n")
		for _, id := range r.IDs {
			c := d.change(id)
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", result.MarkdownCodeCell(id), result.MarkdownText(c.Severity), statusOr(c.Before, "absent"), statusOr(c.After, "absent"))
		}
	}
	fmt.Fprintf(&b, "\n## Reference point\n\nThe after result %s (finished %s) is now the reference point: later reviews and `hardgate audit --baseline` compare against it.\n",
		result.MarkdownCode(d.Reference.AuditID), when(d.Reference.FinishedAt))
	_, err := io.WriteString(w, b.String())
	return err
}

//go:embed delta.html.tmpl
var htmlText string

var htmlTemplate = template.Must(template.New("delta").Funcs(report.TemplateFuncs()).Funcs(template.FuncMap{
	"when":   when,
	"signed": signed,
	"status": func(s result.Status) string { return statusOr(s, "absent") },
}).Parse(htmlText))

type htmlRow struct {
	countRow
	Count   int
	Changes []Change
}

type htmlView struct {
	D    *Delta
	CSS  template.CSS
	Rows []htmlRow
	// Tiles are the headline counts, regressions first.
	Tiles []htmlRow
}

func renderHTML(w io.Writer, d *Delta) error {
	v := htmlView{D: d, CSS: report.StyleSheet()}
	for _, r := range d.rows() {
		hr := htmlRow{countRow: r, Count: len(r.IDs)}
		for _, id := range r.IDs {
			hr.Changes = append(hr.Changes, d.change(id))
		}
		v.Rows = append(v.Rows, hr)
		switch r.Key {
		case Regressed, Improved, StillFailing, "new_failing":
			v.Tiles = append(v.Tiles, hr)
		}
	}
	return htmlTemplate.Execute(w, v)
}
