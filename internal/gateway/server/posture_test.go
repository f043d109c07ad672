package server

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/hardgate/hardgate/internal/gateway/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestPostureGolden pins the posture document of the worked example's
// states; regenerate with go test ./internal/gateway/server -run Golden -update.
func TestPostureGolden(t *testing.T) {
	tests := []struct {
		name   string
		golden string
		mutate func(*config.Config)
	}{
		{"the hardened defaults announce nothing", "posture-after.json", func(*config.Config) {}},
		{"allowed unsafe settings are listed with field, value and detail", "posture-legacy-announced.json", legacy(false)},
		{"the legacy switch lists nothing", "posture-legacy-silenced.json", legacy(true)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, _ := baseConfig(t)
			tt.mutate(&cfg)
			srv, err := New(cfg, Options{Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(srv.posture(), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("posture differs from %s (run with -update if intended):\n%s", path, got)
			}
		})
	}
}
