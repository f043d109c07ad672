package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/result"
)

const exampleControls = "../../examples/custom-controls"

func TestCustomControlsDir(t *testing.T) {
	t.Run("hardgate controls lists the custom controls beside the built-in ones", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "controls", "--controls-dir", exampleControls)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, id := range []string{"custom.plaintext_listener_configured", "custom.mqtt_connections_unbounded", "custom.mqtt_persistence_off", "ingest_auth.insecure_transport"} {
			if !strings.Contains(stdout, id) {
				t.Errorf("controls output lacks %s", id)
			}
		}
		if _, plain, _ := runCLI(t, "controls"); strings.Contains(plain, "custom.") {
			t.Error("without --controls-dir the custom controls are listed")
		}
	})
	t.Run("an audit of the real before ingestd config fails the custom control, with its line", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "res.json")
		code, _, stderr := runCLI(t, "audit", "--gateway-config", "../../examples/gateway-hardening/before/ingestd.yaml",
			"--controls-dir", exampleControls, "--out", out)
		if code != exitFindings {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		res := readResultFile(t, out)
		f := findingOf(res, "custom.plaintext_listener_configured")
		if f == nil || f.Severity != "high" || f.Evidence[0].Config.Line != 11 || f.Remediation.Text != "Delete listen.http and drop the plaintext_listener opt-in." {
			t.Fatalf("finding %+v", f)
		}
		if statusOf(res, "custom.mqtt_persistence_off") != result.StatusNotApplicable {
			t.Errorf("a mosquitto rule judged an ingestd config")
		}
	})
	t.Run("an audit of the real mosquitto.conf judges the mosquitto custom controls", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "res.json")
		runCLI(t, "audit", "--gateway-config", "../../examples/mqtt/mosquitto.conf", "--gateway-kind", "mosquitto", "--controls-dir", exampleControls, "--out", out)
		res := readResultFile(t, out)
		if statusOf(res, "custom.mqtt_connections_unbounded") != result.StatusFail || statusOf(res, "custom.mqtt_persistence_off") != result.StatusPass {
			t.Fatalf("statuses %s, %s", statusOf(res, "custom.mqtt_connections_unbounded"), statusOf(res, "custom.mqtt_persistence_off"))
		}
	})
	t.Run("a custom control can be waived, only when it is loaded", func(t *testing.T) {
		w := filepath.Join(t.TempDir(), "waivers.yaml")
		os.WriteFile(w, []byte("waivers:\n  - {control: custom.plaintext_listener_configured, targets: [ingestd], justification: j, owner: o, expires: "+
			time.Now().AddDate(0, 0, 7).Format(time.DateOnly)+"}\n"), 0o600)
		out := filepath.Join(t.TempDir(), "res.json")
		runCLI(t, "audit", "--gateway-config", "../../examples/gateway-hardening/before/ingestd.yaml", "--name", "ingestd",
			"--controls-dir", exampleControls, "--waivers", w, "--out", out)
		if got := statusOf(readResultFile(t, out), "custom.plaintext_listener_configured"); got != result.StatusWaived {
			t.Errorf("status %s, want waived", got)
		}
		code, _, stderr := runCLI(t, "audit", "--gateway-config", "../../examples/gateway-hardening/before/ingestd.yaml", "--waivers", w)
		if code != exitUsage || !strings.Contains(stderr, "not a control of the catalog") {
			t.Errorf("without --controls-dir: exit %d, %s", code, stderr)
		}
	})
	for _, tc := range []struct{ name, dir, want string }{
		{"a missing controls dir exits 2", "/nonexistent/controls", "--controls-dir: controls dir"},
		{"a dir of controls outside the custom. prefix exits 2", writeControls(t, "ingest_auth.mine"), `must start with "custom."`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, args := range [][]string{{"controls"}, {"audit", "--gateway-config", "../../examples/gateway-hardening/before/ingestd.yaml"}} {
				code, _, stderr := runCLI(t, append(args, "--controls-dir", tc.dir)...)
				if code != exitUsage || !strings.Contains(stderr, tc.want) {
					t.Errorf("%s: exit %d, stderr %q; want 2 and %q", args[0], code, stderr, tc.want)
				}
			}
		})
	}
}

// writeControls writes the example controls file with its first id replaced.
func writeControls(t *testing.T, id string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(exampleControls, "site-policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "site.yaml"), []byte(strings.Replace(string(data), "custom.plaintext_listener_configured", id, 1)), 0o600)
	return dir
}

func findingOf(res *result.Result, id string) *result.Finding {
	for i := range res.Findings {
		if res.Findings[i].ID == id {
			return &res.Findings[i]
		}
	}
	return nil
}
