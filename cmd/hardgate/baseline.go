package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/hardgate/hardgate/internal/delta"
	"github.com/hardgate/hardgate/internal/result"
)

// baselineGate compares a fresh result with the reference baseline, prints
// the delta, the gate's verdict and what is true of the reference point on
// w, and returns exitFindings when the gate fails (any regression, or lost
// coverage without --allow-coverage-loss), exitUsage when the two results
// cannot be compared.
func baselineGate(w, stderr io.Writer, base, res *result.Result, f *auditFlags) int {
	d, err := delta.Compare(base, res, delta.Options{AllowDifferentTargets: f.allowDifferent, AllowCoverageLoss: f.allowCoverageLoss})
	if err != nil {
		fmt.Fprintf(stderr, "hardgate audit: --baseline: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(w, "\nAgainst baseline %s (%s):\n", base.AuditID, f.baseline)
	if err := delta.Render(w, d, "text", delta.RenderOptions{OmitReference: true}); err != nil {
		fmt.Fprintf(stderr, "hardgate audit: --baseline: %v\n", err)
		return exitUsage
	}
	v, err := delta.Judge(d, delta.FailOnRegression)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate audit: --baseline: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(w, "\n%s.\n", upperFirst(v.Reason))
	fmt.Fprintln(w, baselineOutcome(v.Failed, base.AuditID, f.baseline, f.out))
	if v.Failed {
		return exitFindings
	}
	return exitOK
}

// baselineOutcome says what became of the new result and which result is
// the reference point now: only a result that passed the gate and was
// written can be the next baseline.
func baselineOutcome(failed bool, baseID, basePath, out string) string {
	stays := fmt.Sprintf("the baseline %s (%s) stays the reference point", baseID, basePath)
	switch {
	case failed && out != "":
		return fmt.Sprintf("The new result was written to %s, but it is not a baseline: the gate failed, so %s.", out, stays)
	case failed:
		return fmt.Sprintf("The gate failed, so %s. The new result was not written (no --out FILE).", stays)
	case out != "":
		return fmt.Sprintf("The new result was written to %s; give it as --baseline to make it the reference point of the next release.", out)
	}
	return fmt.Sprintf("The new result was not written (no --out FILE), so %s; add --out FILE to keep this result as the next baseline.", stays)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
