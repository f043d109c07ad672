package delta_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/delta"
	"github.com/hardgate/hardgate/internal/fleet/fleettest"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
)

// row is a fleet summary line for the summary-level comparison.
func row(name, status string, failing ...string) result.FleetTarget {
	if failing == nil {
		failing = []string{}
	}
	return result.FleetTarget{Name: name, Status: status, FailingControls: failing}
}

func fleetOf(rows ...result.FleetTarget) *result.Fleet {
	return &result.Fleet{Status: result.AuditPass, Posture: result.PostureGreen, Targets: rows}
}

func TestCompareFleetsBySummaryLines(t *testing.T) {
	tests := []struct {
		name          string
		before, after result.FleetTarget
		want          string
		regressed     string
	}{
		{"a pass that fails regressed", row("g", "pass"), row("g", "fail", "a.x"), "regressed", "a.x"},
		{"a pass that cannot be decided regressed", row("g", "pass"), row("g", "inconclusive"), "regressed", ""},
		{"a pass whose audit could not run regressed", row("g", "pass"), row("g", "error"), "regressed", ""},
		{"a pass that was skipped regressed", row("g", "pass"), row("g", "skipped"), "regressed", ""},
		{"a failure fixed improved", row("g", "fail", "a.x"), row("g", "pass"), "improved", ""},
		{"an undecided gateway that passes improved", row("g", "inconclusive"), row("g", "pass"), "improved", ""},
		{"a new failing control regressed even while another was fixed", row("g", "fail", "a.x"), row("g", "fail", "b.y"), "regressed", "b.y"},
		{"one of two failures fixed improved", row("g", "fail", "a.x", "b.y"), row("g", "fail", "b.y"), "improved", ""},
		{"the same failures are unchanged", row("g", "fail", "a.x"), row("g", "fail", "a.x"), "unchanged", ""},
		{"a failure that became undecided shows no fix", row("g", "fail", "a.x"), row("g", "error"), "unchanged", ""},
		{"a pass that passes is unchanged", row("g", "pass"), row("g", "pass"), "unchanged", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := delta.CompareFleets(fleetOf(tt.before), fleetOf(tt.after), nil)
			if err != nil {
				t.Fatal(err)
			}
			g := d.Gateways[0]
			if g.Change != tt.want || g.Compared != delta.BySummary || strings.Join(g.RegressedControls, " ") != tt.regressed {
				t.Errorf("change %s (%s) regressed %v, want %s %q", g.Change, g.Compared, g.RegressedControls, tt.want, tt.regressed)
			}
		})
	}
}

func TestCompareFleetsAddedRemovedAndPosture(t *testing.T) {
	before := fleetOf(row("a", "pass"), row("b", "pass"))
	after := fleetOf(row("b", "pass"), row("c", "fail", "x.y"))
	after.Status, after.Posture = result.AuditFail, result.PostureRed
	d, err := delta.CompareFleets(before, after, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(d.Added, d.Removed, d.Unchanged, d.Regressed) != "[c] [a] [b] []" {
		t.Errorf("added %v removed %v unchanged %v regressed %v", d.Added, d.Removed, d.Unchanged, d.Regressed)
	}
	if d.Posture.Before != "green" || d.Posture.After != "red" || d.Posture.Direction != "worse" {
		t.Errorf("posture %+v", d.Posture)
	}
	for _, tt := range []struct {
		policy string
		fail   bool
	}{{"regression", false}, {"any", true}, {"none", false}} {
		failed, why, err := delta.GateFleet(d, tt.policy)
		if err != nil || failed != tt.fail {
			t.Errorf("--fail-on %s: failed %v (%s) %v, want %v", tt.policy, failed, why, err, tt.fail)
		}
	}
	if _, _, err := delta.GateFleet(d, "sometimes"); !errors.Is(err, delta.ErrUnknownPolicy) {
		t.Errorf("an unknown policy: %v", err)
	}
}

// workedFleets are two fixture fleets: gw-0001 passes then fails (a
// regression by controls), gw-0002 fails then passes.
func workedFleets(t *testing.T) (*delta.FleetDelta, delta.LoadResult) {
	t.Helper()
	before := fleettest.Summary([]fleettest.Gateway{{Name: "gw-0001", Result: "after"}, {Name: "gw-0002", Result: "before"}, {Name: "gw-0003", Err: "token unset"}})
	after := fleettest.Summary([]fleettest.Gateway{{Name: "gw-0001", Result: "before"}, {Name: "gw-0002", Result: "after"}, {Name: "gw-0004", Result: "after"}})
	results := map[string]map[string]func() *result.Result{
		"before": {"gw-0001": reporttest.WorkedExampleAfter, "gw-0002": reporttest.WorkedExampleBefore},
		"after":  {"gw-0001": reporttest.WorkedExampleBefore, "gw-0002": reporttest.WorkedExampleAfter, "gw-0004": reporttest.WorkedExampleAfter},
	}
	load := func(side string, t result.FleetTarget) (*result.Result, error) {
		if f := results[side][t.Name]; f != nil {
			return f(), nil
		}
		return nil, errors.New("no result")
	}
	d, err := delta.CompareFleets(before, after, load)
	if err != nil {
		t.Fatal(err)
	}
	return d, load
}

func TestCompareFleetsControlByControl(t *testing.T) {
	d, _ := workedFleets(t)
	if fmt.Sprint(d.Regressed, d.Improved, d.Added, d.Removed) != "[gw-0001] [gw-0002] [gw-0004] [gw-0003]" {
		t.Fatalf("regressed %v improved %v added %v removed %v", d.Regressed, d.Improved, d.Added, d.Removed)
	}
	g := d.Gateways[0]
	if g.Compared != delta.ByControls || len(g.RegressedControls) != 4 || !strings.Contains(strings.Join(g.RegressedControls, " "), reporttest.InsecureTransport) {
		t.Errorf("gw-0001: %+v, want the four worked-example controls regressed, by controls", g)
	}
	if failed, _, _ := delta.GateFleet(d, ""); !failed {
		t.Error("a regressed gateway must fail the default gate")
	}
}

func TestFleetDeltaGoldenFiles(t *testing.T) {
	d, _ := workedFleets(t)
	for _, format := range delta.Formats() {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := delta.RenderFleet(&buf, d, format, delta.RenderOptions{}); err != nil {
				t.Fatal(err)
			}
			golden(t, "fleet-delta."+format+".golden", buf.Bytes())
		})
	}
}

// A control that passed and is undecided now regresses its gateway in a
// fleet delta (coverage lost to an error), as it did before the
// coverage_lost bucket: an audit that cannot decide never hides a fleet
// regression.
func TestFleetCountsAPassTurnedUndecidedAsRegressed(t *testing.T) {
	before := fleettest.Summary([]fleettest.Gateway{{Name: "gw-0001", Result: "after"}})
	after := fleettest.Summary([]fleettest.Gateway{{Name: "gw-0001", Result: "after"}})
	load := func(side string, _ result.FleetTarget) (*result.Result, error) {
		res := reporttest.WorkedExampleAfter()
		if side == "after" {
			reporttest.Control(res, reporttest.HealthUnavailable).Status = result.StatusError
		}
		return res, nil
	}
	d, err := delta.CompareFleets(before, after, load)
	if err != nil {
		t.Fatal(err)
	}
	if g := d.Gateways[0]; g.Change != delta.GatewayRegressed || !slices.Equal(g.RegressedControls, []string{reporttest.HealthUnavailable}) {
		t.Fatalf("gw-0001: %+v, want regressed by %s", g, reporttest.HealthUnavailable)
	}
}
