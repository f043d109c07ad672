package fleet

import (
	"maps"
	"slices"
	"strings"

	"github.com/hardgate/hardgate/internal/result"
)

// TopControls is how many failing controls the summary lists.
const TopControls = 10

// Meta describes a run for its summary.
type Meta struct {
	Tool      result.Tool
	FleetFile string
	Selectors []string
	// WaiversFile is the waivers file as given to --waivers ("" without).
	WaiversFile string
}

// row is the outcome's line in the fleet summary.
func row(o *Outcome) result.FleetTarget {
	r := result.FleetTarget{
		Name:              o.Target.Target.Name,
		Labels:            maps.Clone(o.Target.Labels),
		Status:            o.Status,
		SeverityCounts:    zeroCounts(),
		DurationMS:        o.Duration.Milliseconds(),
		FailingControls:   []string{},
		UndecidedControls: []string{},
	}
	if r.Labels == nil {
		r.Labels = map[string]string{}
	}
	if o.Err != nil {
		r.Error = o.Err.Error()
	}
	res := o.Result
	if res == nil {
		return r
	}
	r.AuditID = res.AuditID
	r.Posture = res.Summary.Posture
	r.RiskScore = res.Summary.RiskScore
	r.Findings = res.Summary.Findings
	r.Waived = res.Summary.Waivers.Waived
	for sev, n := range res.Summary.SeverityCounts {
		r.SeverityCounts[sev] = n
	}
	r.Domains = map[string]string{}
	for _, d := range res.Summary.Domains {
		r.Domains[d.Name] = d.Posture
	}
	for _, c := range res.Controls {
		switch c.Status {
		case result.StatusFail:
			r.FailingControls = append(r.FailingControls, c.ID)
		case result.StatusError:
			r.UndecidedControls = append(r.UndecidedControls, c.ID)
		}
	}
	slices.Sort(r.FailingControls)
	slices.Sort(r.UndecidedControls)
	return r
}

func zeroCounts() map[string]int {
	m := make(map[string]int, len(result.Severities))
	for _, s := range result.Severities {
		m[s] = 0
	}
	return m
}

// countFailing adds a result's failed controls to the fleet's tally.
func countFailing(tally map[string]*result.FleetControl, name string, res *result.Result) {
	for _, c := range res.Controls {
		if c.Status != result.StatusFail {
			continue
		}
		fc := tally[c.ID]
		if fc == nil {
			fc = &result.FleetControl{ID: c.ID, Title: c.Title, Severity: c.Severity}
			tally[c.ID] = fc
		}
		fc.Targets++
		fc.TargetNames = append(fc.TargetNames, name)
	}
}

// Summarize turns a run into the fleet summary: every target sorted by
// name, totals, the fleet's status and posture, and the controls that fail
// on the most targets (most severe first among equals).
func Summarize(run *Run, meta Meta) *result.Fleet {
	f := &result.Fleet{
		SchemaVersion: result.FleetSchemaVersion,
		Kind:          result.FleetKind,
		Tool:          meta.Tool,
		FleetFile:     meta.FleetFile,
		Selectors:     slices.Clone(meta.Selectors),
		Parallel:      run.Parallel,
		StartedAt:     run.StartedAt,
		FinishedAt:    run.FinishedAt,
		DurationMS:    run.FinishedAt.Sub(run.StartedAt).Milliseconds(),
		Interrupted:   run.Interrupted,
		Targets:       make([]result.FleetTarget, 0, len(run.Outcomes)),
		Totals: result.FleetTotals{
			Statuses:       map[string]int{},
			Postures:       map[string]int{},
			SeverityCounts: zeroCounts(),
		},
	}
	if f.Selectors == nil {
		f.Selectors = []string{}
	}
	for _, s := range result.FleetStatuses {
		f.Totals.Statuses[s] = 0
	}
	for _, p := range []string{result.PostureRed, result.PostureAmber, result.PostureGreen, result.PostureUnknown} {
		f.Totals.Postures[p] = 0
	}
	for _, o := range run.Outcomes {
		r := o.Row
		f.Targets = append(f.Targets, r)
		t := &f.Totals
		t.Targets++
		t.Statuses[r.Status]++
		if r.Posture != "" {
			t.Postures[r.Posture]++
		}
		for sev, n := range r.SeverityCounts {
			t.SeverityCounts[sev] += n
		}
		t.Findings += r.Findings
		t.Waived += r.Waived
		t.RiskScore += r.RiskScore
		t.MaxRiskScore = max(t.MaxRiskScore, r.RiskScore)
	}
	slices.SortFunc(f.Targets, func(a, b result.FleetTarget) int { return strings.Compare(a.Name, b.Name) })
	f.Status, f.Posture = fleetVerdict(f.Totals)
	f.TopFailingControls = topControls(run.failing)
	if run.Waivers != nil {
		w := *run.Waivers
		w.File = meta.WaiversFile
		f.Waivers = &w
	}
	return f
}

// fleetVerdict: FAIL when any target fails, INCONCLUSIVE when any is not
// a pass, else PASS; the posture is the worst of the fleet, unknown when a
// target is undecided and none is red or amber.
func fleetVerdict(t result.FleetTotals) (status, posture string) {
	notPass := t.Targets - t.Statuses[result.FleetPass]
	switch {
	case t.Statuses[result.FleetFail] > 0:
		status = result.AuditFail
	case notPass > 0 || t.Targets == 0:
		status = result.AuditInconclusive
	default:
		status = result.AuditPass
	}
	switch {
	case t.Postures[result.PostureRed] > 0:
		posture = result.PostureRed
	case t.Postures[result.PostureAmber] > 0:
		posture = result.PostureAmber
	case notPass-t.Statuses[result.FleetFail] > 0 || t.Postures[result.PostureUnknown] > 0 || t.Targets == 0:
		posture = result.PostureUnknown
	default:
		posture = result.PostureGreen
	}
	return status, posture
}

func topControls(tally map[string]*result.FleetControl) []result.FleetControl {
	out := make([]result.FleetControl, 0, len(tally))
	for _, fc := range tally {
		c := *fc
		c.TargetNames = slices.Clone(fc.TargetNames)
		slices.Sort(c.TargetNames)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b result.FleetControl) int {
		if a.Targets != b.Targets {
			return b.Targets - a.Targets
		}
		if ra, rb := result.SeverityRank(a.Severity), result.SeverityRank(b.Severity); ra != rb {
			return ra - rb
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(out) > TopControls {
		out = out[:TopControls]
	}
	return out
}

// ExitCode is the fleet's exit code: 1 when any target fails, else 3 when
// any is not a pass (inconclusive, error, cancelled, skipped), else 0.
func ExitCode(f *result.Fleet) int {
	switch f.Status {
	case result.AuditPass:
		return 0
	case result.AuditFail:
		return 1
	}
	return 3
}
