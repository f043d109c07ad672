package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestOutputFilesAreNeverWrittenThroughASymlink runs every command that
// writes a file with symlinks planted where the old writer wrote (OUT.tmp)
// and at OUT itself, each pointing at a file an attacker wants destroyed.
func TestOutputFilesAreNeverWrittenThroughASymlink(t *testing.T) {
	f := writeResultFiles(t)
	open := openGateway(t)
	for _, tc := range []struct {
		name string
		args func(out string) []string
	}{
		{"report --out", func(out string) []string { return []string{"report", f.before, "--format", "md", "--out", out} }},
		{"diff --out", func(out string) []string {
			return []string{"diff", f.before, f.after, "--format", "json", "--out", out}
		}},
		{"audit --out", func(out string) []string {
			return []string{"audit", "--url", open + "/v1/ingest", "--out", out, "--color", "never"}
		}},
	} {
		for _, planted := range []string{".tmp", ""} {
			t.Run(tc.name+" with a symlink at OUT"+planted, func(t *testing.T) {
				dir := t.TempDir()
				out := filepath.Join(dir, "out")
				victim := filepath.Join(t.TempDir(), "victim")
				if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(victim, out+planted); err != nil {
					t.Fatal(err)
				}
				code, _, stderr := runCLI(t, tc.args(out)...)
				if code == exitUsage {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				if got, _ := os.ReadFile(victim); string(got) != "precious" {
					t.Fatalf("the file behind the symlink was overwritten with %.40q", got)
				}
				fi, err := os.Lstat(out)
				if err != nil {
					t.Fatal(err)
				}
				if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
					t.Fatalf("%s is %v, want a regular file with mode 0600", out, fi.Mode())
				}
			})
		}
	}
}
