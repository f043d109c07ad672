package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportComplianceViews(t *testing.T) {
	files := writeResultFiles(t)
	t.Run("md on stdout by default", func(t *testing.T) {
		code, stdout, stderr := runSub(t, "report", files.before, "--format", "compliance", "--framework", "en-18031-1")
		if code != exitOK || !strings.HasPrefix(stdout, "# EN 18031-1 2024: plant-gateway") || !strings.Contains(stdout, "| **SCM-3** ") ||
			!strings.Contains(stdout, "outside this audit") {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
	})
	dir := t.TempDir()
	for _, tc := range []struct {
		name, out, flag, wantPrefix string
	}{
		{"an .html --out writes html", "etsi.html", "", "<!DOCTYPE html>"},
		{"a .json --out writes json", "etsi.json", "", "{"},
		{"--compliance-format wins over the extension", "etsi-2.html", "md", "# ETSI EN 303 645"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"report", files.after, "--format", "compliance", "--framework", "etsi-en-303-645", "--out", filepath.Join(dir, tc.out)}
			if tc.flag != "" {
				args = append(args, "--compliance-format", tc.flag)
			}
			if code, _, stderr := runSub(t, args...); code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			data, err := os.ReadFile(filepath.Join(dir, tc.out))
			if err != nil || !strings.HasPrefix(string(data), tc.wantPrefix) {
				t.Fatalf("%s starts %.40q (%v), want %q", tc.out, data, err, tc.wantPrefix)
			}
			if tc.wantPrefix == "{" {
				var v struct{ Counts map[string]int }
				if err := json.Unmarshal(data, &v); err != nil || v.Counts["outside"] == 0 {
					t.Errorf("json view: %v, counts %v", err, v.Counts)
				}
			}
		})
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"compliance without --framework", []string{"--format", "compliance"}, "needs --framework: one of en-18031-1, etsi-en-303-645, iec-62443-4-2, nist-ir-8259a, owasp-iot-2018"},
		{"an unknown framework", []string{"--format", "compliance", "--framework", "iso-27001"}, `unknown framework "iso-27001"`},
		{"--framework without --format compliance", []string{"--format", "md", "--framework", "en-18031-1"}, "--framework needs --format compliance"},
		{"an unknown compliance format", []string{"--format", "compliance", "--framework", "en-18031-1", "--compliance-format", "pdf"}, `--compliance-format "pdf"`},
		{"a bad controls dir", []string{"--format", "compliance", "--framework", "en-18031-1", "--controls-dir", "/nonexistent/dir"}, "--controls-dir"},
	} {
		t.Run(tc.name+" exits 2", func(t *testing.T) {
			code, _, stderr := runSub(t, append([]string{"report", files.before}, tc.args...)...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
		})
	}
	t.Run("custom controls of a result map through --controls-dir", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "res.json")
		runCLI(t, "audit", "--gateway-config", "../../examples/gateway-hardening/before/ingestd.yaml", "--controls-dir", exampleControls, "--out", out)
		_, plain, _ := runSub(t, "report", out, "--format", "compliance", "--framework", "en-18031-1")
		if !strings.Contains(plain, "not in the catalog") || strings.Contains(plain, "`custom.plaintext_listener_configured` FAIL") {
			t.Errorf("without --controls-dir the custom control must be noted, not mapped:\n%s", plain)
		}
		_, mapped, _ := runSub(t, "report", out, "--format", "compliance", "--framework", "en-18031-1", "--controls-dir", exampleControls)
		if !strings.Contains(mapped, "`custom.plaintext_listener_configured` FAIL") {
			t.Errorf("with --controls-dir the custom control maps to SCM-1 and GEC-2:\n%s", mapped)
		}
	})
}
