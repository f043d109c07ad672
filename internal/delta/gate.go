package delta

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Gate policies for Gate.
const (
	FailOnRegression = "regression"
	FailOnAny        = "any"
	FailOnNone       = "none"
)

// FailOnPolicies lists the policies Gate accepts.
var FailOnPolicies = []string{FailOnRegression, FailOnAny, FailOnNone}

// ErrUnknownPolicy is returned by Gate for a policy it does not know.
var ErrUnknownPolicy = errors.New("unknown fail-on policy")

// Gate decides whether a delta fails a release gate. Policy "regression"
// (the default when empty) fails on any regressed control; "any" also on
// controls still failing, new controls that fail or error, and controls
// that stay undecided; "none" never fails. It returns whether the gate
// failed and a one-line reason for the log.
func Gate(d *Delta, failOn string) (bool, string, error) {
	if d == nil {
		return false, "", errors.New("gate: no delta")
	}
	if failOn == "" {
		failOn = FailOnRegression
	}
	if !slices.Contains(FailOnPolicies, failOn) {
		return false, "", fmt.Errorf("%w %q: choose one of %s", ErrUnknownPolicy, failOn, strings.Join(FailOnPolicies, ", "))
	}
	var reasons []string
	add := func(n int, what string, ids []string) {
		if n > 0 {
			reasons = append(reasons, fmt.Sprintf("%d %s (%s)", n, what, strings.Join(ids, ", ")))
		}
	}
	switch failOn {
	case FailOnNone:
		return false, fmt.Sprintf("gate disabled (--fail-on none); %d regressions", len(d.Regressed)), nil
	case FailOnRegression:
		add(len(d.Regressed), "regressed", d.Regressed)
	case FailOnAny:
		add(len(d.Regressed), "regressed", d.Regressed)
		add(len(d.StillFailing), "still failing", d.StillFailing)
		add(len(d.NewFailing), "new and failing", d.NewFailing)
		add(len(d.Inconclusive), "still undecided", d.Inconclusive)
	}
	if len(reasons) == 0 {
		return false, fmt.Sprintf("gate passed (--fail-on %s): 0 regressions", failOn), nil
	}
	return true, fmt.Sprintf("gate failed (--fail-on %s): %s", failOn, strings.Join(reasons, "; ")), nil
}
