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

// Verdict is a gate's decision on a delta.
type Verdict struct {
	// FailOn is the policy applied.
	FailOn string
	// Failed is true when the gate fails the release.
	Failed bool
	// Reason is the one-line verdict: "gate passed (...)" or "gate failed (...): ...",
	// naming the controls.
	Reason string
	// Counts is the verdict with counts only, for a report's headline.
	Counts string
}

// Gate decides whether a delta fails a release gate. Policy "regression"
// (the default when empty) fails on any regressed control and on lost
// coverage (a control that passed and is now undecided or not applicable)
// unless the delta was compared with AllowCoverageLoss; "any" also on
// controls still failing, new controls that fail or error, and controls
// that stay undecided; "none" never fails. It returns whether the gate
// failed and a one-line reason for the log.
func Gate(d *Delta, failOn string) (bool, string, error) {
	v, err := Judge(d, failOn)
	return v.Failed, v.Reason, err
}

// Judge is Gate's decision as a Verdict, for renderers.
func Judge(d *Delta, failOn string) (Verdict, error) {
	if d == nil {
		return Verdict{}, errors.New("gate: no delta")
	}
	if failOn == "" {
		failOn = FailOnRegression
	}
	if !slices.Contains(FailOnPolicies, failOn) {
		return Verdict{}, fmt.Errorf("%w %q: choose one of %s", ErrUnknownPolicy, failOn, strings.Join(FailOnPolicies, ", "))
	}
	v := Verdict{FailOn: failOn}
	var reasons, counts []string
	add := func(what string, ids []string) {
		if len(ids) > 0 {
			reasons = append(reasons, fmt.Sprintf("%d %s (%s)", len(ids), what, strings.Join(ids, ", ")))
			counts = append(counts, fmt.Sprintf("%d %s", len(ids), what))
		}
	}
	lost := "lost coverage, passed before and undecided or not applicable now"
	switch failOn {
	case FailOnNone:
		v.Reason = fmt.Sprintf("gate disabled (--fail-on none); %d regressions, %d lost coverage", len(d.Regressed), len(d.CoverageLost))
		v.Counts = v.Reason
		return v, nil
	case FailOnRegression:
		add("regressed", d.Regressed)
		if !d.CoverageLossAllowed {
			add(lost, d.CoverageLost)
		}
	case FailOnAny:
		add("regressed", d.Regressed)
		if !d.CoverageLossAllowed {
			add(lost, d.CoverageLost)
		}
		add("still failing", d.StillFailing)
		add("new and failing", d.NewFailing)
		add("still undecided", d.Inconclusive)
	}
	if len(reasons) > 0 {
		v.Failed = true
		v.Reason = fmt.Sprintf("gate failed (--fail-on %s): %s", failOn, strings.Join(reasons, "; "))
		v.Counts = fmt.Sprintf("gate failed (--fail-on %s): %s", failOn, strings.Join(counts, "; "))
		if len(d.CoverageLost) > 0 && !d.CoverageLossAllowed {
			v.Reason += "; --allow-coverage-loss accepts lost coverage"
			v.Counts += "; --allow-coverage-loss accepts lost coverage"
		}
		return v, nil
	}
	v.Reason = fmt.Sprintf("gate passed (--fail-on %s): 0 regressions", failOn)
	v.Counts = v.Reason
	if n := len(d.CoverageLost); n > 0 {
		v.Reason += fmt.Sprintf("; %d lost coverage, allowed by --allow-coverage-loss (%s)", n, strings.Join(d.CoverageLost, ", "))
		v.Counts += fmt.Sprintf("; %d lost coverage, allowed by --allow-coverage-loss", n)
	} else {
		v.Reason += ", 0 lost coverage"
		v.Counts += ", 0 lost coverage"
	}
	return v, nil
}
