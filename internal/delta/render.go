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
	// FailOn is the gate policy whose verdict the Markdown and HTML deltas
	// show ("" is the default, regression).
	FailOn string
	// OmitReference leaves out the reference-point line of the text delta,
	// for a caller that says itself what becomes the baseline (audit
	// --baseline, where nothing is saved without --out).
	OmitReference bool
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
	case "md", "html":
		var gate Verdict
		if gate, err = Judge(d, opts.FailOn); err != nil {
			return fmt.Errorf("render delta %s: %w", format, err)
		}
		if format == "md" {
			err = renderMarkdown(w, d, gate)
		} else {
			err = renderHTML(w, d, gate)
		}
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
		{CoverageLost, "Coverage lost", d.CoverageLost, !d.CoverageLossAllowed},
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
	if !opts.OmitReference {
		b.WriteString("\n" + referenceSentence(d) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// referenceSentence says which result later reviews compare against.
func referenceSentence(d *Delta) string {
	if d.Reference.Kept {
		return fmt.Sprintf("Reference point unchanged: %s (the before result, %s) stays the baseline; %s.",
			d.Reference.AuditID, when(d.Reference.FinishedAt), strings.TrimPrefix(d.Reference.Note, "the before result stays the reference point: "))
	}
	return fmt.Sprintf("Reference point: %s (the after result, %s) is now the baseline for the next review.", d.Reference.AuditID, when(d.Reference.FinishedAt))
}

func renderMarkdown(w io.Writer, d *Delta, gate Verdict) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# hardgate delta: %s\n\n", result.MarkdownText(d.After.Target))
	if d.DifferentTargets {
		fmt.Fprintf(&b, "> **Warning:** these results are of different targets (%s and %s).\n\n", result.MarkdownText(d.Before.Target), result.MarkdownText(d.After.Target))
	}
	fmt.Fprintf(&b, "**Regressions: %d** · Coverage lost: %d · Improved: %d · Still failing: %d · New and failing: %d\n\n",
		len(d.Regressed), len(d.CoverageLost), len(d.Improved), len(d.StillFailing), len(d.NewFailing))
	fmt.Fprintf(&b, "**Release gate: %s.** %s.\n\n", gateWord(gate), result.MarkdownText(upperFirst(gate.Counts)))
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
	if d.Reference.Kept {
		fmt.Fprintf(&b, "\n## Reference point\n\nThe before result %s (finished %s) stays the reference point: %s, so it is not a baseline.\n",
			result.MarkdownCode(d.Reference.AuditID), when(d.Reference.FinishedAt), result.MarkdownText(keptReason(d)))
	} else {
		fmt.Fprintf(&b, "\n## Reference point\n\nThe after result %s (finished %s) is now the reference point: later reviews and `hardgate audit --baseline` compare against it.\n",
			result.MarkdownCode(d.Reference.AuditID), when(d.Reference.FinishedAt))
	}
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
	Gate Verdict
	// GateWord is PASSED, FAILED or DISABLED.
	GateWord string
	// KeptReason says why the before result stays the reference point.
	KeptReason string
	Rows       []htmlRow
	// Tiles are the headline counts, regressions first.
	Tiles []htmlRow
}

func renderHTML(w io.Writer, d *Delta, gate Verdict) error {
	v := htmlView{D: d, CSS: report.StyleSheet(), Gate: gate, GateWord: gateWord(gate), KeptReason: keptReason(d)}
	for _, r := range d.rows() {
		hr := htmlRow{countRow: r, Count: len(r.IDs)}
		for _, id := range r.IDs {
			hr.Changes = append(hr.Changes, d.change(id))
		}
		v.Rows = append(v.Rows, hr)
		switch r.Key {
		case Regressed, CoverageLost, Improved, StillFailing, "new_failing":
			v.Tiles = append(v.Tiles, hr)
		}
	}
	return htmlTemplate.Execute(w, v)
}

// gateWord is the verdict in one word.
func gateWord(v Verdict) string {
	switch {
	case v.FailOn == FailOnNone:
		return "DISABLED"
	case v.Failed:
		return "FAILED"
	}
	return "PASSED"
}

// keptReason says why the before result stays the reference point.
func keptReason(d *Delta) string {
	return strings.TrimPrefix(d.Reference.Note, "the before result stays the reference point: ")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
