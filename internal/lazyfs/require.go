//go:build linux && !arm && !386

package lazyfs

import (
	"os"
	"testing"

	"github.com/hardgate/hardgate/internal/interop"
)

// Require skips a test that cannot mount a FUSE filesystem here (it needs
// root and /dev/fuse), or fails it when HARDGATE_REQUIRE_INTEROP=1 (CI runs
// as root and must not skip the power-loss tests).
func Require(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		interop.Skip(tb, "the power-cut tests mount a FUSE filesystem (internal/lazyfs): run them as root")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		interop.Skip(tb, "the power-cut tests need /dev/fuse (modprobe fuse; apt-get install fuse3): "+err.Error())
	}
}
