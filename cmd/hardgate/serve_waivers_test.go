package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServeCheckConfigLoadsTheWaiversFile(t *testing.T) {
	expires := time.Now().UTC().AddDate(0, 1, 0).Format(time.DateOnly)
	tests := []struct {
		name, waivers string
		wantCode      int
		want          string
	}{
		{"a valid waivers file is counted", "waivers:\n  - control: ingest_auth.insecure_transport\n    labels: {site: plant-1}\n    justification: j\n    owner: o\n    expires: " + expires + "\n",
			exitOK, "1 waiver(s) valid"},
		{"a waiver for an unknown control is refused", "waivers:\n  - control: nope.unknown_control\n    targets: [gw-1]\n    justification: j\n    owner: o\n    expires: " + expires + "\n",
			exitUsage, "nope.unknown_control"},
		{"an unknown key is refused", "waivers:\n  - contrl: x\n", exitUsage, "contrl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := serveDir(t, "waivers: waivers.yaml\n")
			if err := os.WriteFile(filepath.Join(filepath.Dir(cfg), "waivers.yaml"), []byte(tt.waivers), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCLI(t, "serve", "check-config", "--config", cfg)
			if code != tt.wantCode || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", code, tt.wantCode, tt.want, out, errOut)
			}
		})
	}
	t.Run("a missing waivers file is refused", func(t *testing.T) {
		code, _, errOut := runCLI(t, "serve", "check-config", "--config", serveDir(t, "waivers: nope.yaml\n"))
		if code != exitUsage || !strings.Contains(errOut, "waivers") {
			t.Errorf("exit %d: %s", code, errOut)
		}
	})
}
