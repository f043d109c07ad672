package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestGet(t *testing.T) {
	vcs := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/hardgate/hardgate", Version: "v0.0.0-20260102030405-0123456789ab+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	tests := []struct {
		name                  string
		bi                    *debug.BuildInfo
		version, commit, date string
		want                  Info
	}{
		{"the release build's stamps win over the build info", vcs, "v1.2.3", "fedcba9876543210fedcba9876543210fedcba98", "2026-03-04T05:06:07Z",
			Info{Version: "v1.2.3", Commit: "fedcba9876543210fedcba9876543210fedcba98", Date: "2026-03-04T05:06:07Z", Go: "go1.26.8"}},
		{"a plain go build reports the module version and the vcs stamps, dirty included", vcs, "", "", "",
			Info{Version: "v0.0.0-20260102030405-0123456789ab+dirty", Commit: "0123456789abcdef0123456789abcdef01234567-dirty", Date: "2026-01-02T03:04:05Z", Go: "go1.26.8"}},
		{"a build without any information is (devel)", &debug.BuildInfo{GoVersion: "go1.26.8"}, "", "", "",
			Info{Version: Devel, Go: "go1.26.8"}},
		{"no build info at all is (devel)", nil, "", "", "", Info{Version: Devel}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := get(tt.bi, tt.version, tt.commit, tt.date)
			got.Platform = ""
			if tt.want.Go == "" {
				tt.want.Go = got.Go
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestInfoString(t *testing.T) {
	tests := []struct {
		name string
		info Info
		want string
	}{
		{"a stamped release shows a short commit and the date",
			Info{Version: "v1.2.3", Commit: "0123456789abcdef0123456789abcdef01234567", Date: "2026-01-02T03:04:05Z", Go: "go1.26.8", Platform: "linux/arm"},
			"v1.2.3 (commit 0123456789ab, 2026-01-02T03:04:05Z, go1.26.8 linux/arm)"},
		{"a dirty tree keeps its mark after shortening",
			Info{Version: "(devel)", Commit: "0123456789abcdef0123456789abcdef01234567-dirty", Date: "2026-01-02T03:04:05Z", Go: "go1.26.8", Platform: "linux/amd64"},
			"(devel) (commit 0123456789ab-dirty, 2026-01-02T03:04:05Z, go1.26.8 linux/amd64)"},
		{"unknown commit and date are said so",
			Info{Version: "(devel)", Go: "go1.26.8", Platform: "linux/amd64"},
			"(devel) (commit unknown, date unknown, go1.26.8 linux/amd64)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.info.String(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestVersionIsNeverEmpty(t *testing.T) {
	if v := Version(); strings.TrimSpace(v) == "" {
		t.Fatal("Version() is empty")
	}
}
