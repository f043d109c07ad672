package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiffCommand(t *testing.T) {
	files := writeResultFiles(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
		wantErr  string
	}{
		{"the worked example improves 4 controls with 0 regressions", []string{"diff", files.before, files.after}, exitOK,
			[]string{"Improved:         4", "Regressed:        0", "Reference point: hg-0000000000000002"}, "gate passed"},
		{"the reverse comparison regresses and fails the default gate", []string{"diff", files.after, files.before}, exitFindings,
			[]string{"Regressed:        4", "(pass -> fail)"}, "gate failed (--fail-on regression): 4 regressed"},
		{"--fail-on none reports regressions without failing", []string{"diff", files.after, files.before, "--fail-on", "none"}, exitOK,
			[]string{"Regressed:        4"}, "gate disabled"},
		{"a result compared with itself still fails 4 controls: fine for the regression gate", []string{"diff", files.before, files.before}, exitOK,
			[]string{"Still failing:    4"}, "gate passed"},
		{"--fail-on any fails on controls that still fail", []string{"diff", files.before, files.before, "--fail-on", "any"}, exitFindings,
			[]string{"Still failing:    4"}, "4 still failing"},
		{"--allow-different-targets compares another gateway", []string{"diff", "--allow-different-targets", files.before, files.otherTarget}, exitOK,
			[]string{"WARNING: comparing different targets"}, "gate passed"},
		{"the markdown delta shows the zero regressions plainly", []string{"diff", files.before, files.after, "--format", "md"}, exitOK,
			[]string{"**Regressions: 0**", "## Improved (4)"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runSub(t, tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d; stderr %s", code, tc.wantCode, errOut)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("stderr %q lacks %q", errOut, tc.wantErr)
			}
		})
	}
}

func TestDiffCommandJSONAndOut(t *testing.T) {
	files := writeResultFiles(t)
	dst := filepath.Join(files.dir, "delta.json")
	code, out, errOut := runSub(t, "diff", files.before, files.after, "--format", "json", "--out", dst)
	if code != exitOK || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	data, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Improved  []string `json:"improved"`
		Regressed []string `json:"regressed"`
		Reference struct {
			AuditID string `json:"audit_id"`
		} `json:"reference"`
		Risk struct {
			Change int `json:"change"`
		} `json:"risk"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Improved) != 4 || d.Regressed == nil || len(d.Regressed) != 0 || d.Reference.AuditID != "hg-0000000000000002" || d.Risk.Change != -70 {
		t.Errorf("delta = %+v", d)
	}
}

func TestDiffCommandRefusesBadInput(t *testing.T) {
	files := writeResultFiles(t)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"a missing before file", []string{"diff", files.missing, files.after}, "before: open"},
		{"a missing after file", []string{"diff", files.before, files.missing}, "after: open"},
		{"truncated JSON", []string{"diff", files.before, files.truncated}, "parse result"},
		{"a foreign schema version", []string{"diff", files.wrongVersion, files.after}, `unsupported result schema version: "2.0"`},
		{"two different targets", []string{"diff", files.before, files.otherTarget}, "results are of different targets"},
		{"a single result", []string{"diff", files.before}, "want BEFORE.json and AFTER.json"},
		{"an unknown format", []string{"diff", files.before, files.after, "--format", "sarif"}, `--format "sarif"`},
		{"an unknown gate policy", []string{"diff", files.before, files.after, "--fail-on", "sometimes"}, `--fail-on "sometimes"`},
	}
	for _, tc := range tests {
		t.Run(tc.name+" exits 2 with a clear error", func(t *testing.T) {
			code, out, errOut := runSub(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("stderr %q does not mention %q", errOut, tc.wantErr)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
	t.Run("--help shows examples and exits 0", func(t *testing.T) {
		code, _, errOut := runSub(t, "diff", "-h")
		if code != exitOK || !strings.Contains(errOut, "hardgate diff before.json after.json --format html") {
			t.Errorf("exit %d, help %q", code, errOut)
		}
	})
}
