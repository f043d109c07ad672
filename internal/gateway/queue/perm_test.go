package queue

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestStoreIsPrivateEvenWhenItExisted opens a store in a directory that
// exists with mode 0755 and whose files are 0644, under a umask that lets
// SQLite create files readable by everyone: the directory ends 0700 and
// every store file 0600, including the -wal and -shm files SQLite creates.
func TestStoreIsPrivateEvenWhenItExisted(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	q := openTest(t, dir, 1<<20)
	if err := q.Append(context.Background(), testBatch(1)); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: store directory mode %v, %v; want 0700", when, fi.Mode().Perm(), err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			fi, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, e.Name())
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: %s has mode %04o, want 0600", when, e.Name(), fi.Mode().Perm())
			}
		}
		if j := strings.Join(names, " "); !strings.Contains(j, FileName+"-wal") {
			t.Errorf("%s: no -wal file among %s: the check did not see SQLite's own files", when, j)
		}
	}
	check("after the first open")
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	// Widen everything, as a careless restore from backup would, and reopen.
	for _, name := range storeFiles {
		_ = os.Chmod(filepath.Join(dir, name), 0o644)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	q = openTest(t, dir, 1<<20)
	if err := q.Append(context.Background(), testBatch(2)); err != nil {
		t.Fatal(err)
	}
	check("after a reopen of widened files")
}

func TestOpenRefusesAStoreDirectoryOwnedByAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a directory to another user")
	}
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 12345, 12345); err != nil {
		t.Fatal(err)
	}
	_, err := Open(Options{Dir: dir, MaxBytes: 1 << 20})
	if err == nil || !strings.Contains(err.Error(), "owned by uid 12345") {
		t.Fatalf("Open = %v, want a refusal naming the owner", err)
	}
}
