package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hardgate/hardgate/internal/fleet/fleettest"
	"github.com/hardgate/hardgate/internal/result"
)

// fleetWaiversFile selects open-1 by its fleet label, open-2 by name, one
// waiver (for strong-1, which passes) is stale and one has expired.
const fleetWaiversFile = `waivers:
  - control: ingest_auth.insecure_transport
    labels: {site: plant-1}
    justification: "plant-1 moves to TLS with the new switches (OPS-7)"
    owner: "plant-1 operations"
    expires: %[1]s
  - control: ingest_auth.unauthenticated_ingest_allowed
    targets: [open-2]
    justification: "open-2 is a lab bench, no real data (LAB-3)"
    owner: "lab"
    expires: %[1]s
  - control: ingest_auth.insecure_transport
    targets: [strong-1]
    justification: "no longer needed"
    owner: "platform team"
    expires: %[1]s
  - control: ingest_auth.insecure_transport
    targets: [open-2]
    justification: "was accepted until the bench got TLS"
    owner: "lab"
    expires: 2020-01-31
`

func TestFleetAuditAppliesWaiversByLabelAndName(t *testing.T) {
	dir := t.TempDir()
	ca := fleettest.NewCA(t, dir)
	fleettest.SetToken(t)
	file := writeTestFleet(t, dir,
		fleetEntry{"strong-1", "plant-1", ca.Strong(t), 0},
		fleetEntry{"open-1", "plant-1", fleettest.Open(t), 0},
		fleetEntry{"open-2", "plant-2", fleettest.Open(t), 0},
	)
	expires := time.Now().UTC().AddDate(0, 3, 0).Format(time.DateOnly)
	wfile := fleettest.WriteFile(t, dir, "waivers.yaml", fmt.Sprintf(fleetWaiversFile, expires))
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI(t, "audit", "--fleet", file, "--out-dir", out, "--progress", "none", "--waivers", wfile)
	if code != exitFindings {
		t.Fatalf("exit %d, want 1 (open gateways still fail other controls)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	sum := readFleetJSON(t, out)
	waived := map[string]int{}
	for _, tg := range sum.Targets {
		waived[tg.Name] = tg.Waived
	}
	if waived["open-1"] != 1 || waived["open-2"] != 1 || waived["strong-1"] != 0 || sum.Totals.Waived != 2 {
		t.Errorf("waived per gateway %v, total %d; want open-1 1 (by label), open-2 1 (by name), total 2", waived, sum.Totals.Waived)
	}
	w := sum.Waivers
	if w == nil || w.File != wfile || w.Count != 4 || w.Waived != 2 {
		t.Fatalf("fleet waivers %+v", w)
	}
	if len(w.Stale) != 1 || !slices.Equal(w.Stale[0].Targets, []string{"strong-1"}) {
		t.Errorf("stale %+v, want once the waiver for strong-1", w.Stale)
	}
	if len(w.Expired) != 1 || w.Expired[0].Waiver.Expires != "2020-01-31" || !slices.Equal(w.Expired[0].Targets, []string{"open-2"}) {
		t.Errorf("expired %+v, want once the 2020 waiver, selecting open-2", w.Expired)
	}
	res, err := readResult(filepath.Join(out, "results", "open-1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Target.Labels["site"] != "plant-1" || controlStatus(res, "ingest_auth.insecure_transport") != result.StatusWaived {
		t.Errorf("open-1 result: labels %v, insecure_transport %q; want the fleet labels and waived", res.Target.Labels,
			controlStatus(res, "ingest_auth.insecure_transport"))
	}
	for _, top := range sum.TopFailingControls {
		if top.ID == "ingest_auth.insecure_transport" && !slices.Equal(top.TargetNames, []string{"open-2"}) {
			t.Errorf("insecure_transport fails on %v; want only open-2 (open-1 waived, open-2's waiver expired)", top.TargetNames)
		}
	}
	if strings.Count(stderr, "stale waiver") != 1 || strings.Count(stderr, "expired on 2020-01-31") != 1 {
		t.Errorf("stderr should name the stale and the expired waiver once each:\n%s", stderr)
	}
	if !strings.Contains(stdout, "Waivers: 2 finding(s) waived") {
		t.Errorf("stdout lacks the waivers line:\n%s", stdout)
	}
	md := readFile(t, filepath.Join(out, "fleet.md"))
	for _, want := range []string{"## Waivers", "### Stale waivers", "### Expired waivers", "| Waived | 2 finding(s), not counted |", "(+1 waived)"} {
		if !strings.Contains(md, want) {
			t.Errorf("fleet.md lacks %q", want)
		}
	}
	html := readFile(t, filepath.Join(out, "fleet.html"))
	for _, want := range []string{`id="waivers"`, `id="stale-waivers"`, `id="expired-waivers"`, `id="kpi-waived"`, `data-waived="1"`} {
		if !strings.Contains(html, want) {
			t.Errorf("fleet.html lacks %q", want)
		}
	}
	sch, err := jsonschema.NewCompiler().Compile(filepath.Join("..", "..", "docs", "fleet.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(readFile(t, filepath.Join(out, "fleet.json"))))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Errorf("fleet.json with waivers does not match docs/fleet.schema.json: %v", err)
	}
}

func TestFleetAuditRejectsABadWaiversFile(t *testing.T) {
	dir := t.TempDir()
	file := writeTestFleet(t, dir, fleetEntry{"gw-1", "plant-1", "https://127.0.0.1:1/v1/ingest", 0})
	wfile := fleettest.WriteFile(t, dir, "waivers.yaml", "waivers:\n  - control: nope.unknown_control\n    targets: [gw-1]\n    justification: x\n    owner: y\n    expires: 2020-01-01\n")
	out := filepath.Join(dir, "out")
	code, _, stderr := runCLI(t, "audit", "--fleet", file, "--out-dir", out, "--progress", "none", "--waivers", wfile)
	if code != exitUsage || !strings.Contains(stderr, "nope.unknown_control") {
		t.Fatalf("exit %d, want 2 naming the unknown control:\n%s", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a bad waivers file still created the output folder: %v", err)
	}
}

func controlStatus(res *result.Result, id string) result.Status {
	for _, c := range res.Controls {
		if c.ID == id {
			return c.Status
		}
	}
	return ""
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
