package report

import (
	"fmt"
	"github.com/hardgate/hardgate/internal/result"
	"io"
	"strings"
	"text/tabwriter"
)

// ANSI colours used by the text format when RenderOptions.Color is set.
const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiBold   = "\x1b[1m"
)

type painter bool

func (p painter) paint(code, s string) string {
	if !p {
		return s
	}
	return code + s + ansiReset
}

// status colours PASS green, FAIL red, anything else yellow.
func (p painter) status(s string) string {
	switch s {
	case result.AuditPass:
		return p.paint(ansiGreen+ansiBold, s)
	case result.AuditFail:
		return p.paint(ansiRed+ansiBold, s)
	}
	return p.paint(ansiYellow+ansiBold, s)
}

func (p painter) posture(s string) string {
	switch s {
	case result.PostureGreen:
		return p.paint(ansiGreen, s)
	case result.PostureRed:
		return p.paint(ansiRed, s)
	}
	return p.paint(ansiYellow, postureWord(s))
}

// renderText writes a short human summary: the verdict, the counts, the
// domains, one line per finding and the next step.
func renderText(w io.Writer, res *result.Result, opts RenderOptions) error {
	p := painter(opts.Color)
	s := res.Summary
	var b strings.Builder
	fmt.Fprintf(&b, "hardgate audit of %s (audit %s, %s)\n", res.Target.Name, res.AuditID, res.FinishedAt.UTC().Format("2006-01-02 15:04:05Z"))
	fmt.Fprintf(&b, "Status: %s   Posture: %s   Risk score: %d\n", p.status(s.Status), p.posture(s.Posture), s.RiskScore)
	var counts []string
	for _, c := range severityCounts(s) {
		counts = append(counts, fmt.Sprintf("%d %s", c.Count, c.Severity))
	}
	fmt.Fprintf(&b, "Findings: %d (%s)\n", s.Findings, strings.Join(counts, ", "))
	fmt.Fprintf(&b, "Controls: %d (%d pass, %d fail, %d not applicable, %d error%s)\n",
		s.Controls.Total, s.Controls.Pass, s.Controls.Fail, s.Controls.NotApplicable, s.Controls.Error, waivedCount(s))
	if res.Waivers != nil {
		fmt.Fprintf(&b, "Waived: %s\n", waiverSummary(s))
	}
	fmt.Fprintf(&b, "Backlog: %d items\n", len(res.Backlog))
	if s.Headline != "" {
		fmt.Fprintf(&b, "\n%s\n", s.Headline)
	}
	if err := writeString(w, b.String()); err != nil {
		return err
	}

	if len(s.Domains) > 0 {
		if err := writeString(w, "\nDomains:\n"); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, d := range sortedDomains(res) {
			fmt.Fprintf(tw, "  %s\t%s\t%d findings\t%d controls\t%d errors\n", p.posture(d.Posture), d.Name, d.Findings, d.Controls, d.Errors)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if fs := sortedFindings(res); len(fs) > 0 {
		if err := writeString(w, "\nFindings:\n"); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, f := range fs {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", strings.ToUpper(f.Severity), f.ID, oneLine(f.Reason))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if err := writeString(w, textWaived(res)); err != nil {
		return err
	}
	var errs []string
	for _, c := range sortedControls(res) {
		if c.Status == result.StatusError {
			errs = append(errs, fmt.Sprintf("  ERROR  %s: %s\n", c.ID, oneLine(c.Reason)))
		}
	}
	b.Reset()
	if len(errs) > 0 {
		b.WriteString("\nCould not decide (counted as inconclusive, never as pass):\n")
		b.WriteString(strings.Join(errs, ""))
	}
	if len(s.Notes) > 0 {
		b.WriteString("\nNotes:\n")
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "  - %s\n", oneLine(n))
		}
	}
	if s.NextStep != "" {
		fmt.Fprintf(&b, "\nNext step: %s\n", s.NextStep)
	}
	return writeString(w, b.String())
}

func writeString(w io.Writer, s string) error {
	_, err := io.WriteString(w, s)
	return err
}

// oneLine folds whitespace runs (newlines included) into single spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
