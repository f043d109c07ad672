package server

import (
	"testing"

	"github.com/hardgate/hardgate/internal/version"
)

// The posture document and ingestd_build_info report the build's version
// as "ingestd version" and "hardgate version" print it, never a spelling
// of their own.
func TestPostureReportsTheBuildVersionByDefault(t *testing.T) {
	cfg, _, _ := baseConfig(t)
	srv, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := srv.posture().Version, version.Version(); got != want {
		t.Fatalf("posture version = %q, want the build's %q", got, want)
	}
}
