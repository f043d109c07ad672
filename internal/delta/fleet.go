package delta

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hardgate/hardgate/internal/result"
)

// FleetSchemaVersion is the version of the fleet delta document.
const FleetSchemaVersion = "1.0"

// FleetKind marks a fleet delta document.
const FleetKind = "hardgate.fleet_delta"

// What happened to one gateway between two fleet audits.
const (
	GatewayImproved  = "improved"
	GatewayRegressed = "regressed"
	GatewayUnchanged = "unchanged"
	GatewayAdded     = "added"
	GatewayRemoved   = "removed"
)

// How a gateway was compared.
const (
	// ByControls: both results were read and compared control by control
	// with Compare (the single delta's rules).
	ByControls = "controls"
	// BySummary: a side had no result to read, so the fleet summaries'
	// status and failing controls were compared.
	BySummary = "summary"
)

// FleetDelta compares two fleet summaries gateway by gateway.
type FleetDelta struct {
	SchemaVersion string        `json:"schema_version"`
	Kind          string        `json:"kind"`
	Before        FleetSide     `json:"before"`
	After         FleetSide     `json:"after"`
	Posture       PostureChange `json:"posture"`
	// Improved, Regressed, Unchanged, Added and Removed name the gateways.
	Improved  []string `json:"improved"`
	Regressed []string `json:"regressed"`
	Unchanged []string `json:"unchanged"`
	Added     []string `json:"added"`
	Removed   []string `json:"removed"`
	// Gateways lists every gateway of either side, by name.
	Gateways []GatewayChange `json:"gateways"`
}

// FleetSide summarises one fleet audit.
type FleetSide struct {
	StartedAt  time.Time          `json:"started_at"`
	FinishedAt time.Time          `json:"finished_at"`
	Status     string             `json:"status"`
	Posture    string             `json:"posture"`
	Totals     result.FleetTotals `json:"totals"`
}

// GatewayChange is one gateway's comparison.
type GatewayChange struct {
	Name          string `json:"name"`
	Change        string `json:"change"`
	Compared      string `json:"compared,omitempty"`
	StatusBefore  string `json:"status_before,omitempty"`
	StatusAfter   string `json:"status_after,omitempty"`
	PostureBefore string `json:"posture_before,omitempty"`
	PostureAfter  string `json:"posture_after,omitempty"`
	RiskBefore    int    `json:"risk_before"`
	RiskAfter     int    `json:"risk_after"`
	// RegressedControls and ImprovedControls are the control ids that
	// moved (only the failing sets when Compared is summary).
	RegressedControls []string `json:"regressed_controls"`
	ImprovedControls  []string `json:"improved_controls"`
	// ReportAfter is the after side's HTML report, as fleet.json names it.
	ReportAfter string `json:"report_after,omitempty"`
}

// LoadResult reads the result a fleet summary names (its result_path), for
// the side "before" or "after"; an error makes that gateway compared by
// summary.
type LoadResult func(side string, t result.FleetTarget) (*result.Result, error)

// CompareFleets compares two fleet summaries by gateway name. With load,
// gateways with a result on both sides are compared control by control
// (Compare's rules: pass → fail or error is a regression); the others by
// their summary lines: a pass that is no longer a pass, or a control that
// fails now and did not before, is a regression.
func CompareFleets(before, after *result.Fleet, load LoadResult) (*FleetDelta, error) {
	if before == nil || after == nil {
		return nil, errors.New("compare fleets: both fleet summaries are required")
	}
	d := &FleetDelta{SchemaVersion: FleetSchemaVersion, Kind: FleetKind, Before: fleetSide(before), After: fleetSide(after),
		Posture: PostureChange{Before: before.Posture, After: after.Posture, Changed: before.Posture != after.Posture,
			Direction: direction(postureRank(before.Posture), postureRank(after.Posture))}}
	prev := map[string]result.FleetTarget{}
	for _, t := range before.Targets {
		prev[t.Name] = t
	}
	next := map[string]result.FleetTarget{}
	for _, t := range after.Targets {
		next[t.Name] = t
	}
	for name, a := range next {
		b, ok := prev[name]
		if !ok {
			d.Gateways = append(d.Gateways, GatewayChange{Name: name, Change: GatewayAdded, StatusAfter: a.Status, PostureAfter: a.Posture,
				RiskAfter: a.RiskScore, ReportAfter: a.HTMLPath, RegressedControls: []string{}, ImprovedControls: []string{}})
			continue
		}
		d.Gateways = append(d.Gateways, compareGateway(b, a, load))
	}
	for name, b := range prev {
		if _, ok := next[name]; !ok {
			d.Gateways = append(d.Gateways, GatewayChange{Name: name, Change: GatewayRemoved, StatusBefore: b.Status, PostureBefore: b.Posture,
				RiskBefore: b.RiskScore, RegressedControls: []string{}, ImprovedControls: []string{}})
		}
	}
	slices.SortFunc(d.Gateways, func(x, y GatewayChange) int { return strings.Compare(x.Name, y.Name) })
	for _, g := range d.Gateways {
		*d.list(g.Change) = append(*d.list(g.Change), g.Name)
	}
	for _, p := range []*[]string{&d.Improved, &d.Regressed, &d.Unchanged, &d.Added, &d.Removed} {
		if *p == nil {
			*p = []string{}
		}
	}
	if d.Gateways == nil {
		d.Gateways = []GatewayChange{}
	}
	return d, nil
}

func (d *FleetDelta) list(change string) *[]string {
	switch change {
	case GatewayImproved:
		return &d.Improved
	case GatewayRegressed:
		return &d.Regressed
	case GatewayAdded:
		return &d.Added
	case GatewayRemoved:
		return &d.Removed
	}
	return &d.Unchanged
}

func fleetSide(f *result.Fleet) FleetSide {
	return FleetSide{StartedAt: f.StartedAt, FinishedAt: f.FinishedAt, Status: f.Status, Posture: f.Posture, Totals: f.Totals}
}

// hasResult reports whether a summary line stands for a finished audit.
func hasResult(t result.FleetTarget) bool {
	return t.Status == result.FleetPass || t.Status == result.FleetFail || t.Status == result.FleetInconclusive
}

func compareGateway(b, a result.FleetTarget, load LoadResult) GatewayChange {
	g := GatewayChange{Name: a.Name, StatusBefore: b.Status, StatusAfter: a.Status, PostureBefore: b.Posture, PostureAfter: a.Posture,
		RiskBefore: b.RiskScore, RiskAfter: a.RiskScore, ReportAfter: a.HTMLPath}
	if load != nil && hasResult(b) && hasResult(a) {
		rb, errB := load("before", b)
		ra, errA := load("after", a)
		if errB == nil && errA == nil {
			if cd, err := Compare(rb, ra, Options{AllowDifferentTargets: true}); err == nil {
				g.Compared = ByControls
				g.RegressedControls = regressedOrUndecided(cd)
				g.ImprovedControls = slices.Concat(cd.Improved, cd.NewlyPassing)
				slices.Sort(g.ImprovedControls)
				g.Change = gatewayChange(len(g.RegressedControls) > 0, len(g.ImprovedControls) > 0 || a.RiskScore < b.RiskScore)
				return g
			}
		}
	}
	g.Compared = BySummary
	g.RegressedControls = missing(b.FailingControls, a.FailingControls)
	g.ImprovedControls = missing(a.FailingControls, b.FailingControls)
	if a.Status != result.FleetFail && a.Status != result.FleetPass {
		g.ImprovedControls = []string{} // an undecided audit shows no fix
	}
	// A pass that is no longer a pass regressed, whatever the reason (an
	// audit that cannot decide never hides a regression).
	lostPass := b.Status == result.FleetPass && a.Status != result.FleetPass
	gainedPass := b.Status != result.FleetPass && a.Status == result.FleetPass
	g.Change = gatewayChange(lostPass || len(g.RegressedControls) > 0, gainedPass || len(g.ImprovedControls) > 0)
	return g
}

// regressedOrUndecided lists the controls that regressed or passed and are
// undecided now (lost coverage to an error): an audit that cannot decide
// never hides a regression of a gateway.
func regressedOrUndecided(d *Delta) []string {
	out := slices.Clone(d.Regressed)
	for _, c := range d.Changes {
		if c.Bucket == CoverageLost && c.After == result.StatusError {
			out = append(out, c.ID)
		}
	}
	slices.Sort(out)
	return out
}

func gatewayChange(regressed, improved bool) string {
	switch {
	case regressed:
		return GatewayRegressed
	case improved:
		return GatewayImproved
	}
	return GatewayUnchanged
}

// missing returns the ids of b that are not in a, sorted.
func missing(a, b []string) []string {
	out := []string{}
	for _, id := range b {
		if !slices.Contains(a, id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// GateFleet decides whether a fleet delta fails a gate: "regression" (the
// default) on any regressed gateway; "any" also when the after fleet is not
// PASS or a gateway was removed; "none" never.
func GateFleet(d *FleetDelta, failOn string) (bool, string, error) {
	if d == nil {
		return false, "", errors.New("gate: no fleet delta")
	}
	if failOn == "" {
		failOn = FailOnRegression
	}
	if !slices.Contains(FailOnPolicies, failOn) {
		return false, "", fmt.Errorf("%w %q: choose one of %s", ErrUnknownPolicy, failOn, strings.Join(FailOnPolicies, ", "))
	}
	var reasons []string
	if failOn != FailOnNone && len(d.Regressed) > 0 {
		reasons = append(reasons, fmt.Sprintf("%d gateways regressed (%s)", len(d.Regressed), strings.Join(firstN(d.Regressed, 10), ", ")))
	}
	if failOn == FailOnAny {
		if d.After.Status != result.AuditPass {
			reasons = append(reasons, "the fleet is "+d.After.Status)
		}
		if len(d.Removed) > 0 {
			reasons = append(reasons, fmt.Sprintf("%d gateways removed", len(d.Removed)))
		}
	}
	if len(reasons) == 0 {
		return false, fmt.Sprintf("gate passed (--fail-on %s): %d gateways regressed", failOn, len(d.Regressed)), nil
	}
	return true, fmt.Sprintf("gate failed (--fail-on %s): %s", failOn, strings.Join(reasons, "; ")), nil
}

func firstN(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(slices.Clone(s[:n]), fmt.Sprintf("and %d more", len(s)-n))
}
