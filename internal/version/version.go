// Package version tells which build of hardgate or ingestd is running: the
// version, commit and build date stamped by the release build
// (go run -C build ./release) with -ldflags -X, and the module's build
// information as the fallback for a plain "go build" or "go install".
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by the release build, for example:
//
//	-X github.com/hardgate/hardgate/internal/version.version=v1.2.3
//	-X github.com/hardgate/hardgate/internal/version.commit=0123abc...
//	-X github.com/hardgate/hardgate/internal/version.date=2026-01-02T03:04:05Z
var (
	version = ""
	commit  = ""
	date    = ""
)

// Devel is the version of a build that carries no version at all.
const Devel = "(devel)"

// Info describes one build.
type Info struct {
	// Version is the release version (v1.2.3, or a git describe string
	// between tags), the module version, or Devel.
	Version string
	// Commit is the full git commit id, "" when unknown. A build from a
	// tree with uncommitted changes ends in "-dirty".
	Commit string
	// Date is the commit or SOURCE_DATE_EPOCH time (RFC 3339, UTC), "" when unknown.
	Date string
	// Go is the toolchain that built the binary, e.g. go1.26.8.
	Go string
	// Platform is GOOS/GOARCH, e.g. linux/arm64.
	Platform string
}

// Get returns the running binary's build information.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return get(bi, version, commit, date)
}

// Version returns the running binary's version (never empty).
func Version() string { return Get().Version }

func get(bi *debug.BuildInfo, version, commit, date string) Info {
	info := Info{Version: version, Commit: commit, Date: date,
		Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi == nil {
		if info.Version == "" {
			info.Version = Devel
		}
		return info
	}
	if info.Version == "" && bi.Main.Version != "" {
		info.Version = bi.Main.Version
	}
	if info.Version == "" {
		info.Version = Devel
	}
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if info.Commit == "" {
				info.Commit = s.Value
			}
		case "vcs.time":
			if info.Date == "" {
				info.Date = s.Value
			}
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if commit == "" && modified && info.Commit != "" {
		info.Commit += "-dirty"
	}
	if bi.GoVersion != "" {
		info.Go = bi.GoVersion
	}
	return info
}

// String is the one line that "hardgate version" and "ingestd version"
// print after the program's name, e.g.
// "v1.2.3 (commit 0123abcdef01, 2026-01-02T03:04:05Z, go1.26.8 linux/arm64)".
func (i Info) String() string {
	c, dirty := strings.CutSuffix(i.Commit, "-dirty")
	if len(c) > 12 {
		c = c[:12]
	}
	if c == "" {
		c = "unknown"
	}
	if dirty {
		c += "-dirty"
	}
	d := i.Date
	if d == "" {
		d = "date unknown"
	}
	return fmt.Sprintf("%s (commit %s, %s, %s %s)", i.Version, c, d, i.Go, i.Platform)
}
