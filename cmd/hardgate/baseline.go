package main

import (
	"fmt"
	"io"

	"github.com/hardgate/hardgate/internal/delta"
	"github.com/hardgate/hardgate/internal/report"
)

// baselineGate compares a fresh result with the reference baseline, prints
// the delta and returns exitFindings on any regression (or exitUsage when
// the two results cannot be compared).
func baselineGate(stdout, stderr io.Writer, base, res *report.Result) int {
	d, err := delta.Compare(base, res, delta.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "hardgate audit: --baseline: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "\nAgainst baseline %s:\n", base.AuditID)
	if err := delta.Render(stdout, d, "text", delta.RenderOptions{}); err != nil {
		fmt.Fprintf(stderr, "hardgate audit: --baseline: %v\n", err)
		return exitUsage
	}
	failed, why, err := delta.Gate(d, delta.FailOnRegression)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate audit: --baseline: %v\n", err)
		return exitUsage
	}
	fmt.Fprintln(stdout, why)
	if failed {
		return exitFindings
	}
	return exitOK
}
