package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/store"
)

func historyTrend(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var db, target, format, color string
	fs := historyFlagSet("trend", historyTrendUsage, stderr, &db)
	fs.StringVar(&color, "color", "auto", "colour status and posture: auto (only on a terminal, not with NO_COLOR), always, never")
	fs.StringVar(&target, "target", "", "the target `NAME` (as in hardgate history list)")
	fs.StringVar(&format, "format", "text", "output format: text or json")
	pos, code, ok := parseHistoryFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "hardgate history trend: unexpected argument %q (flags only)\n", pos[0])
		return exitUsage
	}
	if target == "" {
		fmt.Fprintln(stderr, "hardgate history trend: --target NAME is required (hardgate history list shows the targets)")
		return exitUsage
	}
	if format != "text" && format != "json" {
		fmt.Fprintf(stderr, "hardgate history trend: --format %q: must be text or json\n", format)
		return exitUsage
	}
	on, err := reportColor(color, isTerminal(stdout))
	if err != nil {
		fmt.Fprintf(stderr, "hardgate history trend: %v\n", err)
		return exitUsage
	}
	paint := painter(on)
	s, err := openHistory(ctx, db)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate history trend: %v\n", err)
		return exitUsage
	}
	defer s.Close()
	points, err := s.Trend(ctx, target)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate history trend: %v\n", err)
		return exitUsage
	}
	if format == "json" {
		return writeJSON(stdout, stderr, "trend", points)
	}
	if len(points) == 0 {
		fmt.Fprintf(stdout, "No audits of target %s in %s.\n", cell(target), db)
		return exitOK
	}
	fmt.Fprintf(stdout, "Posture of %s over %d audits:\n\n", cell(target), len(points))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "STARTED (UTC)\tAUDIT ID\t%s\t%s\tRISK\tFINDINGS\tC/H/M/L/I\tERRORS\tCHANGE\n", paint.header("STATUS"), paint.header("POSTURE"))
	for i, p := range points {
		var bySev []string
		for _, sev := range result.Severities {
			bySev = append(bySev, strconv.Itoa(p.FailedBySeverity[sev]))
		}
		change := "first audit"
		if i > 0 {
			change = trendChange(points[i-1], p)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%d\t%s\n", utcTime(p.Entry), cell(p.AuditID), paint.word(cell(p.Status)), paint.word(cell(p.Posture)),
			p.RiskScore, p.Findings, strings.Join(bySev, "/"), p.Controls.Error, change)
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(stderr, "hardgate history trend: %v\n", err)
		return exitUsage
	}
	first, last := points[0], points[len(points)-1]
	fmt.Fprintf(stdout, "\n%s: %s → %s, risk %d → %d, findings %d → %d.\n", cell(target),
		cell(first.Posture), cell(last.Posture), first.RiskScore, last.RiskScore, first.Findings, last.Findings)
	return exitOK
}

// trendChange says what moved between two consecutive audits.
func trendChange(prev, cur store.TrendPoint) string {
	var parts []string
	if prev.Posture != cur.Posture {
		parts = append(parts, cell(prev.Posture)+"→"+cell(cur.Posture))
	}
	if d := cur.RiskScore - prev.RiskScore; d != 0 {
		parts = append(parts, fmt.Sprintf("risk %+d", d))
	}
	if d := cur.Findings - prev.Findings; d != 0 {
		parts = append(parts, fmt.Sprintf("findings %+d", d))
	}
	if len(parts) == 0 {
		return "unchanged"
	}
	return strings.Join(parts, ", ")
}

func historyShow(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var db, format string
	fs := historyFlagSet("show", historyShowUsage, stderr, &db)
	fs.StringVar(&format, "format", "json", "output format: "+strings.Join(report.Formats(), ", "))
	pos, code, ok := parseHistoryFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "hardgate history show: give exactly one AUDIT_ID (hardgate history list shows them)")
		return exitUsage
	}
	if !slices.Contains(report.Formats(), format) {
		fmt.Fprintf(stderr, "hardgate history show: --format %q: must be one of %s\n", format, strings.Join(report.Formats(), ", "))
		return exitUsage
	}
	s, err := openHistory(ctx, db)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate history show: %v\n", err)
		return exitUsage
	}
	defer s.Close()
	res, err := s.Get(ctx, pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "hardgate history show: %v\n", err)
		return exitUsage
	}
	if err := report.Render(stdout, res, format, renderOptions(false)); err != nil {
		fmt.Fprintf(stderr, "hardgate history show: %v\n", err)
		return exitUsage
	}
	return exitOK
}
