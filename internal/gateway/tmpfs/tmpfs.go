// Package tmpfs gives tests a small, real filesystem that they can fill:
// a tmpfs mounted in a test directory (Linux, root only). A test that is
// not root skips with a message saying so (through interop.Skip, so under
// HARDGATE_REQUIRE_INTEROP=1, as in CI, which runs as root, it fails
// instead of skipping).
//
// Only tests import it, so deadcode lists it unless run with -test.
package tmpfs

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/hardgate/hardgate/internal/interop"
)

// Mount mounts a tmpfs of size bytes on a new directory of the test and
// returns its path; the test's cleanup unmounts it.
func Mount(tb testing.TB, size int64) string {
	tb.Helper()
	if os.Geteuid() != 0 {
		interop.Skip(tb, "mounting a small tmpfs to fill it needs root (CI runs as root)")
	}
	dir := filepath.Join(tb.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size="+strconv.FormatInt(size, 10)+",mode=0700"); err != nil {
		interop.Skip(tb, "cannot mount a tmpfs on "+dir+": "+err.Error())
	}
	tb.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			tb.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// Fill writes a file in dir until the filesystem has no space left and
// returns a function that deletes it again.
func Fill(tb testing.TB, dir string) (free func()) {
	tb.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for len(chunk) > 0 {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				f.Close()
				tb.Fatalf("fill %s: %v", dir, err)
			}
			chunk = chunk[:len(chunk)/2] // fill the last blocks too
		}
	}
	if err := f.Close(); err != nil && !errors.Is(err, syscall.ENOSPC) {
		tb.Fatal(err)
	}
	return func() {
		if err := os.Remove(path); err != nil {
			tb.Fatal(err)
		}
	}
}
