package localfile_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/localfile"
)

// fifo makes a named pipe that nobody writes to: opening it for reading
// the ordinary way blocks forever.
func fifo(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	return p
}

func TestReadRefusesWhatIsNotARegularFileWithoutBlocking(t *testing.T) {
	dir := t.TempDir()
	pipe := fifo(t, dir, "pipe.conf")
	link := filepath.Join(dir, "link.conf")
	if err := os.Symlink(pipe, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path, kind string }{
		{"a named pipe without a writer", pipe, "named pipe"},
		{"a symlink to a named pipe", link, "named pipe"},
		{"an endless device", "/dev/zero", "character device"},
		{"an empty device", "/dev/null", "character device"},
		{"a directory", dir, "directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := os.Stat(tc.path); err != nil {
				t.Skipf("%s: %v", tc.path, err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			_, err := localfile.Read(ctx, tc.path, 1<<20)
			if !errors.Is(err, localfile.ErrNotRegular) {
				t.Fatalf("err = %v, want ErrNotRegular", err)
			}
			if !strings.Contains(err.Error(), tc.kind) || !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q does not name %s and the kind %q", err, tc.path, tc.kind)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("refusing took %v", d)
			}
			if err := localfile.Check(tc.path); !errors.Is(err, localfile.ErrNotRegular) {
				t.Errorf("Check = %v, want ErrNotRegular", err)
			}
		})
	}
}

func TestReadReadsARegularFileUpToTheCap(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.conf")
	if err := os.WriteFile(small, []byte("listener 1883\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.conf")
	if err := os.Symlink(small, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{small, link} {
		data, err := localfile.Read(context.Background(), p, 64)
		if err != nil || string(data) != "listener 1883\n" {
			t.Fatalf("Read(%s) = %q, %v", p, data, err)
		}
		if err := localfile.Check(p); err != nil {
			t.Fatalf("Check(%s) = %v", p, err)
		}
	}
	if _, err := localfile.Read(context.Background(), small, 4); !errors.Is(err, localfile.ErrTooLarge) {
		t.Fatalf("over the cap: err = %v, want ErrTooLarge", err)
	}
	if _, err := localfile.Read(context.Background(), filepath.Join(dir, "missing"), 64); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: err = %v, want ErrNotExist", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := localfile.Read(ctx, small, 64); !errors.Is(err, context.Canceled) {
		t.Fatalf("after the deadline: err = %v, want context.Canceled", err)
	}
}

func TestReadDirRefusesANamedPipeWithoutBlocking(t *testing.T) {
	dir := t.TempDir()
	pipe := fifo(t, dir, "conf.d")
	start := time.Now()
	if _, err := localfile.ReadDir(context.Background(), pipe); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("err = %v, want not a directory", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refusing took %v", d)
	}
	if _, err := localfile.ReadDir(context.Background(), "/dev/zero"); err == nil {
		t.Fatal("a device was listed as a directory")
	}
	es, err := localfile.ReadDir(context.Background(), dir)
	if err != nil || len(es) != 1 {
		t.Fatalf("ReadDir(dir) = %v, %v", es, err)
	}
}
