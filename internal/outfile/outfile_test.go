package outfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hardgate/hardgate/internal/outfile"
)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// entries lists the names in dir, so a test sees any temp file left behind.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteReplacesTheFileWholeAndPrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "after.json")
	if err := os.WriteFile(path, []byte("old and longer than the new content"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := outfile.Write(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, path); got != "new" {
		t.Fatalf("content %q, want %q", got, "new")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600 (a result describes a gateway's internals)", fi.Mode().Perm())
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("the folder holds %v, want only after.json (no temp file left)", names)
	}
}

func TestWriteModeGivesAPublicFileItsMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := outfile.WriteMode(path, []byte("cert"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("stat: %v, %v; want mode 0644", fi.Mode(), err)
	}
}

// TestASymlinkPlantedAtTheTargetOrTheOldTempNameIsNotFollowed plants the
// attack the old writer fell for: a symlink at PATH.tmp (and at PATH)
// pointing at a file the attacker wants overwritten.
func TestASymlinkPlantedAtTheTargetOrTheOldTempNameIsNotFollowed(t *testing.T) {
	for _, planted := range []string{"report.html.tmp", "report.html"} {
		t.Run("a symlink at "+planted, func(t *testing.T) {
			dir := t.TempDir()
			victim := filepath.Join(t.TempDir(), "victim")
			if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(victim, filepath.Join(dir, planted)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "report.html")
			if err := outfile.Write(path, []byte("<html>")); err != nil {
				t.Fatal(err)
			}
			if got := read(t, victim); got != "precious" {
				t.Fatalf("the symlink's target was overwritten: %q", got)
			}
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if !fi.Mode().IsRegular() || read(t, path) != "<html>" {
				t.Fatalf("%s is %v, want a regular file holding the report", path, fi.Mode())
			}
		})
	}
}

func TestWriteFailsWholeAndLeavesNothingBehind(t *testing.T) {
	dir := t.TempDir()
	for name, path := range map[string]string{
		"a missing folder": filepath.Join(dir, "missing", "out.json"),
		"a directory":      dir,
		"a folder name":    dir + string(filepath.Separator),
	} {
		t.Run(name, func(t *testing.T) {
			if err := outfile.Write(path, []byte("x")); err == nil {
				t.Fatalf("writing %s succeeded", path)
			}
		})
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("the folder holds %v after failed writes, want nothing", names)
	}
}
