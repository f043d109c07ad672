package main

import (
	"fmt"
	"io"

	"github.com/hardgate/hardgate/internal/delta"
	"github.com/hardgate/hardgate/internal/result"
)

// baselineGate compares a fresh result with the reference baseline, prints
// the delta and the verdict on w and returns exitFindings on any regression
// (or exitUsage when the two results cannot be compared).
func baselineGate(w, stderr io.Writer, base, res *result.Result, allowDifferent bool) int {
	d, err := delta.Compare(base, res, delta.Options{AllowDifferentTargets: allowDifferent})
	if err != nil {
		fmt.Fprintf(stderr, "hardgate audit: --baseline: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(w, "\nAgainst baseline %s:\n", base.AuditID)
	if err := delta.Render(w, d, "text", delta.RenderOptions{}); err != nil {
		fmt.Fprintf(stderr, "hardgate audit: --baseline: %v\n", err)
		return exitUsage
	}
	failed, why, err := delta.Gate(d, delta.FailOnRegression)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate audit: --baseline: %v\n", err)
		return exitUsage
	}
	fmt.Fprintln(w, why)
	if failed {
		return exitFindings
	}
	return exitOK
}
