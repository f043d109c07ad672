// Package delta compares two audit results of the same target by control
// id: what improved, what regressed, what still fails, and how posture and
// risk moved. The newer ("after") result becomes the reference point for the
// next review, and Gate turns a delta into a CI verdict.
//
// Each control is put in exactly one bucket by its status before and after:
//
//	before \ after   pass           fail           error          not_applicable  waived
//	pass             still_passing  regressed      coverage_lost  coverage_lost   waived
//	fail             improved       still_failing  still_failing  not_applicable  waived
//	error            newly_passing  regressed      inconclusive   not_applicable  waived
//	not_applicable   newly_passing  regressed      regressed      not_applicable  waived
//	waived           improved       regressed      still_failing  not_applicable  waived
//
// A waived control failed and a waiver accepts it: fail → waived is
// "waived", never "improved", since nothing was fixed; waived → fail (the
// waiver expired or was withdrawn) is a regression, so a release gate
// catches an accepted risk that is no longer accepted; waived → pass is an
// improvement, the finding being fixed at last.
//
// newly_passing controls pass now but were not evaluated (or could not be
// decided) before, for example the TLS controls once ingest moved to
// HTTPS: they are not counted as still passing, since nothing showed them
// passing before.
//
// A control that passed and is now undecided or not applicable lost
// coverage (the token was not given, the gateway did not answer): nothing
// shows it still passes, so coverage loss fails the gate like a regression
// unless it is explicitly allowed. A failing control that could not be
// decided is still failing, since nothing shows it was fixed. Controls in
// only one result are new or removed; new ones that fail or error are also
// listed in new_failing.
package delta

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hardgate/hardgate/internal/result"
)

// SchemaVersion is the version of the delta document. 1.1 added the
// newly_passing bucket (controls that pass now and were not applicable or
// undecided before; 1.0 counted them as still_passing); 1.2 the waived
// bucket (controls that fail now with a waiver accepting them); 1.3 the
// coverage_lost bucket (pass before, undecided or not applicable now; 1.2
// counted pass → error as regressed and pass → not_applicable as
// not_applicable) and coverage_loss_allowed; reference names the before
// result when the after result regressed or lost coverage.
const SchemaVersion = "1.3"

// Buckets a control can land in.
const (
	Improved      = "improved"
	Regressed     = "regressed"
	StillFailing  = "still_failing"
	StillPassing  = "still_passing"
	NewlyPassing  = "newly_passing"
	CoverageLost  = "coverage_lost"
	NotApplicable = "not_applicable"
	Inconclusive  = "inconclusive"
	Waived        = "waived"
	New           = "new"
	Removed       = "removed"
)

// ErrDifferentTargets is returned by Compare for results of two targets.
var ErrDifferentTargets = errors.New("results are of different targets")

// Options tune Compare.
type Options struct {
	// AllowDifferentTargets compares results even when their targets differ.
	AllowDifferentTargets bool
	// AllowCoverageLoss accepts controls that passed before and are now
	// undecided or not applicable: the gate does not fail on them, and the
	// after result may become the reference point despite them.
	AllowCoverageLoss bool
}

// Delta is the comparison of two results.
type Delta struct {
	SchemaVersion string `json:"schema_version"`
	Before        Side   `json:"before"`
	After         Side   `json:"after"`
	// Reference is the result every later review compares against: the
	// after result, unless it regressed or lost coverage (not allowed);
	// then the before result stays the reference point.
	Reference Reference `json:"reference"`
	// DifferentTargets is true when the targets differ and the comparison
	// was allowed anyway.
	DifferentTargets bool `json:"different_targets"`
	// CoverageLossAllowed records Options.AllowCoverageLoss.
	CoverageLossAllowed bool `json:"coverage_loss_allowed"`

	Improved      []string `json:"improved"`
	Regressed     []string `json:"regressed"`
	StillFailing  []string `json:"still_failing"`
	StillPassing  []string `json:"still_passing"`
	NewlyPassing  []string `json:"newly_passing"`
	CoverageLost  []string `json:"coverage_lost"`
	New           []string `json:"new"`
	NewFailing    []string `json:"new_failing"`
	Removed       []string `json:"removed"`
	NotApplicable []string `json:"not_applicable"`
	Inconclusive  []string `json:"inconclusive"`
	// Waived are the controls that fail after and that a waiver accepts.
	Waived []string `json:"waived"`

	Posture PostureChange `json:"posture"`
	Risk    RiskChange    `json:"risk"`
	// Changes lists every control with its two statuses and bucket, by id.
	Changes []Change `json:"changes"`
}

// Side identifies one of the two results and carries its summary.
type Side struct {
	AuditID    string         `json:"audit_id"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt time.Time      `json:"finished_at"`
	Tool       result.Tool    `json:"tool"`
	Target     string         `json:"target"`
	IngestURLs []string       `json:"ingest_urls"`
	Summary    result.Summary `json:"summary"`
}

// Reference names the result that becomes the baseline.
type Reference struct {
	AuditID    string    `json:"audit_id"`
	FinishedAt time.Time `json:"finished_at"`
	// Kept is true when the before result stays the reference point.
	Kept bool   `json:"kept_before"`
	Note string `json:"note"`
}

// PostureChange is the posture before and after.
type PostureChange struct {
	Before  string `json:"before"`
	After   string `json:"after"`
	Changed bool   `json:"changed"`
	// Direction is better, worse or same (red < amber < green).
	Direction string `json:"direction"`
}

// RiskChange is the risk score before and after; Change is after − before.
type RiskChange struct {
	Before int `json:"before"`
	After  int `json:"after"`
	Change int `json:"change"`
}

// Change is one control's transition.
type Change struct {
	ID       string        `json:"id"`
	Title    string        `json:"title"`
	Severity string        `json:"severity"`
	Before   result.Status `json:"before,omitempty"`
	After    result.Status `json:"after,omitempty"`
	Bucket   string        `json:"bucket"`
}

// Compare compares before and after by control id. It refuses results of
// different targets (different names, or ingest URLs on different hosts)
// unless opts.AllowDifferentTargets is set.
func Compare(before, after *result.Result, opts Options) (*Delta, error) {
	if before == nil || after == nil {
		return nil, errors.New("compare: both results are required")
	}
	same, why := SameTarget(before.Target, after.Target)
	if !same && !opts.AllowDifferentTargets {
		return nil, fmt.Errorf("%w: %s (pass --allow-different-targets to compare anyway)", ErrDifferentTargets, why)
	}
	d := &Delta{
		SchemaVersion:       SchemaVersion,
		Before:              side(before),
		After:               side(after),
		DifferentTargets:    !same,
		CoverageLossAllowed: opts.AllowCoverageLoss,
		Posture: PostureChange{Before: before.Summary.Posture, After: after.Summary.Posture,
			Changed:   before.Summary.Posture != after.Summary.Posture,
			Direction: direction(postureRank(before.Summary.Posture), postureRank(after.Summary.Posture))},
		Risk: RiskChange{Before: before.Summary.RiskScore, After: after.Summary.RiskScore,
			Change: after.Summary.RiskScore - before.Summary.RiskScore},
	}
	prev := map[string]result.ControlResult{}
	for _, c := range before.Controls {
		prev[c.ID] = c
	}
	next := map[string]result.ControlResult{}
	for _, c := range after.Controls {
		next[c.ID] = c
	}
	for id, a := range next {
		b, ok := prev[id]
		ch := Change{ID: id, Title: a.Title, Severity: a.Severity, After: a.Status}
		if !ok {
			ch.Bucket = New
		} else {
			ch.Before = b.Status
			ch.Bucket = Classify(b.Status, a.Status)
		}
		d.Changes = append(d.Changes, ch)
	}
	for id, b := range prev {
		if _, ok := next[id]; !ok {
			d.Changes = append(d.Changes, Change{ID: id, Title: b.Title, Severity: b.Severity, Before: b.Status, Bucket: Removed})
		}
	}
	slices.SortFunc(d.Changes, func(x, y Change) int { return strings.Compare(x.ID, y.ID) })
	for _, ch := range d.Changes {
		*d.bucket(ch.Bucket) = append(*d.bucket(ch.Bucket), ch.ID)
		if ch.Bucket == New && (ch.After == result.StatusFail || ch.After == result.StatusError) {
			d.NewFailing = append(d.NewFailing, ch.ID)
		}
	}
	d.fillEmpty()
	d.Reference = d.reference(before, after)
	return d, nil
}

// reference is the after result, unless it regressed or lost coverage
// that was not allowed: a release that got worse never becomes the point
// later reviews compare against.
func (d *Delta) reference(before, after *result.Result) Reference {
	var why []string
	if n := len(d.Regressed); n > 0 {
		why = append(why, fmt.Sprintf("%d regressed", n))
	}
	if n := len(d.CoverageLost); n > 0 && !d.CoverageLossAllowed {
		why = append(why, fmt.Sprintf("%d lost coverage", n))
	}
	if len(why) > 0 {
		return Reference{AuditID: before.AuditID, FinishedAt: before.FinishedAt, Kept: true,
			Note: "the before result stays the reference point: the after result has " + strings.Join(why, " and ")}
	}
	return Reference{AuditID: after.AuditID, FinishedAt: after.FinishedAt,
		Note: "the after result is now the reference point for the next review"}
}

// Classify puts one control's transition in its bucket (see the package
// documentation for the table).
func Classify(before, after result.Status) string {
	switch after {
	case result.StatusNotApplicable:
		if before == result.StatusPass {
			return CoverageLost
		}
		return NotApplicable
	case result.StatusWaived:
		return Waived
	case result.StatusPass:
		switch before {
		case result.StatusFail, result.StatusWaived:
			return Improved
		case result.StatusPass:
			return StillPassing
		}
		return NewlyPassing
	case result.StatusFail:
		if before == result.StatusFail {
			return StillFailing
		}
		return Regressed
	default: // error, or a status this build does not know: never a pass
		switch before {
		case result.StatusFail, result.StatusWaived:
			return StillFailing
		case result.StatusError:
			return Inconclusive
		case result.StatusPass:
			if after == result.StatusError {
				return CoverageLost
			}
		}
		return Regressed
	}
}

func (d *Delta) bucket(name string) *[]string {
	switch name {
	case Improved:
		return &d.Improved
	case Regressed:
		return &d.Regressed
	case StillFailing:
		return &d.StillFailing
	case StillPassing:
		return &d.StillPassing
	case NewlyPassing:
		return &d.NewlyPassing
	case CoverageLost:
		return &d.CoverageLost
	case New:
		return &d.New
	case Removed:
		return &d.Removed
	case NotApplicable:
		return &d.NotApplicable
	case Waived:
		return &d.Waived
	}
	return &d.Inconclusive
}

// fillEmpty makes every list an empty array rather than null in JSON, so a
// zero reads as plainly as a non-zero.
func (d *Delta) fillEmpty() {
	for _, p := range []*[]string{&d.Improved, &d.Regressed, &d.StillFailing, &d.StillPassing, &d.NewlyPassing, &d.CoverageLost, &d.New,
		&d.NewFailing, &d.Removed, &d.NotApplicable, &d.Inconclusive, &d.Waived} {
		if *p == nil {
			*p = []string{}
		}
	}
	if d.Changes == nil {
		d.Changes = []Change{}
	}
}

func side(r *result.Result) Side {
	urls := slices.Clone(r.Target.IngestURLs)
	if urls == nil {
		urls = []string{}
	}
	return Side{AuditID: r.AuditID, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Tool: r.Tool,
		Target: r.Target.Name, IngestURLs: urls, Summary: r.Summary}
}

func postureRank(p string) int {
	switch p {
	case result.PostureGreen:
		return 3
	case result.PostureAmber:
		return 2
	case result.PostureRed:
		return 1
	}
	return 0
}

func direction(before, after int) string {
	switch {
	case after > before:
		return "better"
	case after < before:
		return "worse"
	}
	return "same"
}
