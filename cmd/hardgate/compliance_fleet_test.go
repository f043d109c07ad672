package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/compliance"
	"github.com/hardgate/hardgate/internal/fleet"
	"github.com/hardgate/hardgate/internal/fleet/fleettest"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
)

// writeWorkedExampleFleet writes a fleet output folder as "hardgate audit
// --fleet" does: the fixture fleet's fleet.json and, for every gateway
// with a result, the worked example's before or after result under its name.
func writeWorkedExampleFleet(t *testing.T) (dir string, results []*result.Result) {
	t.Helper()
	dir = t.TempDir()
	out, err := fleet.OpenOutDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range fleettest.DefaultGateways {
		var res *result.Result
		switch g.Result {
		case "before":
			res = reporttest.WorkedExampleBefore()
		case "after":
			res = reporttest.WorkedExampleAfter()
		default:
			continue
		}
		res.Target.Name, res.AuditID = g.Name, "hg-"+g.Name
		if _, _, err := out.WriteResult(g.Name, res); err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
	}
	if err := out.WriteSummary(fleettest.Summary(fleettest.DefaultGateways)); err != nil {
		t.Fatal(err)
	}
	return dir, results
}

func TestReportRendersTheComplianceViewOfAFleet(t *testing.T) {
	dir, results := writeWorkedExampleFleet(t)
	summary := filepath.Join(dir, "fleet.json")
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range catalog.FrameworkIDs() {
		fw, _ := catalog.FrameworkByID(id)
		for _, format := range compliance.Formats {
			t.Run(id+" as "+format, func(t *testing.T) {
				code, stdout, stderr := runCLI(t, "report", summary, "--format", "compliance", "--framework", id, "--compliance-format", format)
				if code != exitOK {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				var want bytes.Buffer
				if err := compliance.RenderFleet(&want, compliance.BuildFleet(results, cat, fw), format); err != nil {
					t.Fatal(err)
				}
				if stdout != want.String() {
					t.Errorf("the fleet view differs from BuildFleet over the fleet's four results:\n%s", stdout)
				}
			})
		}
	}
	t.Run("the --out extension picks html, and the view counts four gateways", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "fleet-etsi.html")
		code, _, stderr := runCLI(t, "report", summary, "--format", "compliance", "--framework", "etsi-en-303-645", "--out", out)
		html := readFile(t, out)
		if code != exitOK || !strings.HasPrefix(html, "<!DOCTYPE html>") || !strings.Contains(html, "4 hardgate audits of a fleet") {
			t.Errorf("exit %d %s\n%.400s", code, stderr, html)
		}
	})
	t.Run("a result path leaving the fleet folder is refused", func(t *testing.T) {
		data := strings.Replace(readFile(t, summary), `"results/gw-0001.json"`, `"../../outside.json"`, 1)
		bad := filepath.Join(t.TempDir(), "fleet.json")
		if err := os.WriteFile(bad, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := runCLI(t, "report", bad, "--format", "compliance", "--framework", "etsi-en-303-645")
		if code != exitUsage || !strings.Contains(stderr, "outside.json") {
			t.Errorf("exit %d: %s", code, stderr)
		}
	})
}
