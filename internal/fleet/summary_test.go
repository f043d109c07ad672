package fleet_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hardgate/hardgate/internal/fleet"
	"github.com/hardgate/hardgate/internal/fleet/fleettest"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
)

func TestTheFleetSummaryMatchesItsSchema(t *testing.T) {
	sch, err := jsonschema.NewCompiler().Compile(filepath.Join("..", "..", "docs", "fleet.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	validate := func(f *result.Fleet) error {
		var buf bytes.Buffer
		if err := result.EncodeFleet(&buf, f); err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(&buf)
		if err != nil {
			t.Fatal(err)
		}
		return sch.Validate(inst)
	}
	f := fleettest.Summary(fleettest.DefaultGateways)
	if err := validate(f); err != nil {
		t.Fatalf("fleet.json does not match docs/fleet.schema.json: %v", err)
	}
	f.Targets[0].Status = "passed"
	if validate(f) == nil {
		t.Error("the schema accepted an unknown target status")
	}
}

func TestFleetVerdictAndExitCode(t *testing.T) {
	tests := []struct {
		name    string
		gws     []fleettest.Gateway
		status  string
		posture string
		exit    int
	}{
		{"every gateway passing is PASS, green, 0", []fleettest.Gateway{{Name: "a", Result: "after"}, {Name: "b", Result: "after"}}, "PASS", "green", 0},
		{"one failing gateway fails the fleet", []fleettest.Gateway{{Name: "a", Result: "after"}, {Name: "b", Result: "before"}}, "FAIL", "red", 1},
		{"a gateway that could not be audited makes it inconclusive", []fleettest.Gateway{{Name: "a", Result: "after"}, {Name: "b", Err: "boom"}}, "INCONCLUSIVE", "unknown", 3},
		{"a failure wins over an error", []fleettest.Gateway{{Name: "a", Result: "before"}, {Name: "b", Err: "boom"}}, "FAIL", "red", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fleettest.Summary(tt.gws)
			if f.Status != tt.status || f.Posture != tt.posture || fleet.ExitCode(f) != tt.exit {
				t.Errorf("%s %s exit %d, want %s %s %d", f.Status, f.Posture, fleet.ExitCode(f), tt.status, tt.posture, tt.exit)
			}
		})
	}
}

func TestOutDirWritesPrivateFilesWholeAndRefusesSymlinks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	out, err := fleet.OpenOutDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	res := reporttest.WorkedExampleAfter()
	j, h, err := out.WriteResult("gw-1", res)
	if err != nil || j != "results/gw-1.json" || h != "results/gw-1.html" {
		t.Fatalf("WriteResult = %q %q %v", j, h, err)
	}
	if err := out.WriteSummary(fleettest.Summary(fleettest.DefaultGateways)); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "results"))
	top, _ := os.ReadDir(dir)
	var names []string
	for _, e := range append(top, entries...) {
		names = append(names, e.Name())
		info, _ := e.Info()
		if e.IsDir() && info.Mode().Perm() != 0o700 || !e.IsDir() && info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v", e.Name(), info.Mode())
		}
	}
	if got := strings.Join(names, " "); got != "fleet.html fleet.json fleet.md results gw-1.html gw-1.json" {
		t.Errorf("files %s (a temporary file left behind?)", got)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "results", "gw-1.json"))
	if back, err := result.Decode(bytes.NewReader(data)); err != nil || back.AuditID != res.AuditID {
		t.Errorf("the result does not read back: %v", err)
	}

	t.Run("a symlinked results folder is refused", func(t *testing.T) {
		d := t.TempDir()
		if err := os.Symlink(t.TempDir(), filepath.Join(d, "results")); err != nil {
			t.Fatal(err)
		}
		if _, err := fleet.OpenOutDir(d); err == nil || !strings.Contains(err.Error(), "symlink") {
			t.Errorf("OpenOutDir = %v, want a refusal", err)
		}
	})
	t.Run("a result file that is a symlink is replaced, not followed", func(t *testing.T) {
		victim := filepath.Join(t.TempDir(), "victim")
		if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(dir, "results", "gw-2.json")
		if err := os.Symlink(victim, link); err != nil {
			t.Fatal(err)
		}
		if _, _, err := out.WriteResult("gw-2", res); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(victim); string(b) != "keep" {
			t.Error("the write followed the symlink")
		}
	})
	t.Run("a name that is not a file name is refused", func(t *testing.T) {
		if _, _, err := out.WriteResult("../escape", res); err == nil {
			t.Error("a path escaped the results folder")
		}
	})
}

func TestProgressLinesOnePerFinishedTarget(t *testing.T) {
	var buf bytes.Buffer
	p := fleet.NewProgress(&buf, 12, false)
	f := fleettest.Summary(fleettest.DefaultGateways[:2])
	for _, row := range f.Targets {
		p.Done(&fleet.Outcome{Status: row.Status, Row: row, Duration: 1500 * time.Millisecond})
	}
	p.Finish()
	want := "[ 1/12] gw-0001  pass  green  risk 0  findings 0  1.5s\n[ 2/12] gw-0002  fail  red  risk 70  findings 4  1.5s\n"
	if buf.String() != want {
		t.Errorf("progress lines:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestProgressBarShowsDoneTotalAndFailing(t *testing.T) {
	var buf bytes.Buffer
	p := fleet.NewProgress(&buf, 2, true)
	f := fleettest.Summary(fleettest.DefaultGateways[:2])
	for _, row := range f.Targets {
		p.Done(&fleet.Outcome{Status: row.Status, Row: row})
	}
	p.Finish()
	out := buf.String()
	if !strings.Contains(out, "2/2") || !strings.Contains(out, "failing 1") || !strings.Contains(out, "targets/s") {
		t.Errorf("the bar lacks done/total, failing or the rate: %q", out)
	}
}
