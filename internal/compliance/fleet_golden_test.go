package compliance_test

import (
	"bytes"
	"testing"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/compliance"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
)

// workedExampleFleet is the worked example as a fleet of two gateways:
// one before the sprint, one after it.
func workedExampleFleet() []*result.Result {
	before, after := reporttest.WorkedExampleBefore(), reporttest.WorkedExampleAfter()
	before.Target.Name, after.Target.Name = "gw-before", "gw-after"
	return []*result.Result{before, after}
}

func TestFleetViewGoldenFilesForEveryFrameworkAndFormat(t *testing.T) {
	for _, id := range catalog.FrameworkIDs() {
		cat, fw := load(t, id)
		fv := compliance.BuildFleet(workedExampleFleet(), cat, fw)
		for _, format := range compliance.Formats {
			t.Run(id+"."+format, func(t *testing.T) {
				var buf bytes.Buffer
				if err := compliance.RenderFleet(&buf, fv, format); err != nil {
					t.Fatal(err)
				}
				reporttest.Golden(t, "worked-example-fleet."+id+"."+format+".golden", buf.Bytes(), *update)
			})
		}
	}
}
