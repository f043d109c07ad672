// Package scoring turns outcomes into verdicts and verdicts into an
// audit's summary. A control's evaluation gathers one outcome per endpoint,
// file or listener in a Tally, whose rule is the same for every control:
// any failure fails it, otherwise anything undecided makes it an error
// (never a pass), otherwise it passes, and with nothing to judge it is not
// applicable. Summarize then derives findings, backlog, posture and the
// risk score from the verdicts and the catalog.
package scoring

import (
	"strings"

	"github.com/hardgate/hardgate/internal/result"
)

// Verdict is a control's status with the reason and the evidence behind it.
type Verdict struct {
	Status   result.Status
	Reason   string
	Evidence []result.Evidence
}

// Tally collects per-endpoint outcomes into one verdict. The zero value is
// ready to use.
type Tally struct {
	failed, undecided, passed []string
	failEv, otherEv           []result.Evidence
}

// Fail records a failing outcome.
func (t *Tally) Fail(why string, ev ...result.Evidence) {
	t.failed = append(t.failed, why)
	t.failEv = append(t.failEv, ev...)
}

// Undecide records an outcome that could not be decided.
func (t *Tally) Undecide(why string, ev ...result.Evidence) {
	t.undecided = append(t.undecided, why)
	t.otherEv = append(t.otherEv, ev...)
}

// Pass records a passing outcome.
func (t *Tally) Pass(why string, ev ...result.Evidence) {
	t.passed = append(t.passed, why)
	t.otherEv = append(t.otherEv, ev...)
}

// Verdict combines the outcomes: fail over error over pass; with no
// outcome at all, not applicable for the reason given. A failure's
// evidence comes first.
func (t *Tally) Verdict(notApplicable string) Verdict {
	switch {
	case len(t.failed) > 0:
		return Verdict{Status: result.StatusFail, Reason: strings.Join(t.failed, "; "), Evidence: append(t.failEv, t.otherEv...)}
	case len(t.undecided) > 0:
		return Verdict{Status: result.StatusError, Reason: "could not decide: " + strings.Join(t.undecided, "; "), Evidence: t.otherEv}
	case len(t.passed) > 0:
		return Verdict{Status: result.StatusPass, Reason: strings.Join(t.passed, "; "), Evidence: t.otherEv}
	default:
		return Verdict{Status: result.StatusNotApplicable, Reason: notApplicable}
	}
}
