package compliance_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/compliance"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
)

// fleet is three gateways: the worked example's before, after and before
// with its waiver, under three names.
func fleet() []*result.Result {
	a, b, c := reporttest.WorkedExampleBefore(), reporttest.WorkedExampleAfter(), reporttest.WorkedExampleBeforeWaived(reporttest.WaiverDay)
	a.Target.Name, b.Target.Name, c.Target.Name = "gw-0003", "gw-0001", "gw-0002"
	return []*result.Result{a, b, c}
}

func TestTheFleetViewCountsTargetsPerProvision(t *testing.T) {
	cat, fw := load(t, "etsi-en-303-645")
	fv := compliance.BuildFleet(fleet(), cat, fw)
	byID := map[string]compliance.FleetProvision{}
	for _, p := range fv.Provisions {
		byID[p.ID] = p
	}
	tests := []struct {
		id                            string
		failure, notTested, consisent int
		outside                       int
		failing                       string
	}{
		{"5.5-1", 2, 0, 1, 0, "gw-0002 gw-0003"},
		{"5.10-1", 2, 0, 1, 0, "gw-0002 gw-0003"},
		{"5.2-1", 0, 0, 0, 3, ""},
	}
	for _, tc := range tests {
		p := byID[tc.id]
		if p.Counts[compliance.StateFailure] != tc.failure || p.Counts[compliance.StateNotTested] != tc.notTested ||
			p.Counts[compliance.StateConsistent] != tc.consisent || p.Counts[compliance.StateOutside] != tc.outside || strings.Join(p.Failing, " ") != tc.failing {
			t.Errorf("%s: counts %v, failing %v", tc.id, p.Counts, p.Failing)
		}
	}
	if len(fv.Targets) != 3 || fv.Targets[0].Name != "gw-0001" || !strings.Contains(fv.Disclaimer, "3 hardgate audits of a fleet") {
		t.Errorf("targets %+v, disclaimer %q", fv.Targets, fv.Disclaimer)
	}
	for _, format := range compliance.Formats {
		var buf bytes.Buffer
		if err := compliance.RenderFleet(&buf, fv, format); err != nil {
			t.Fatal(err)
		}
		if format == "json" {
			var back compliance.FleetView
			if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back.Provisions) != 67 {
				t.Errorf("json: %v", err)
			}
			continue
		}
		reporttest.Golden(t, "fleet.etsi-en-303-645."+format+".golden", buf.Bytes(), *update)
	}
}
