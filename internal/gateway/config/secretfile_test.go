package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretFileExposure(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the secret's path
		want  string                                // "" for safe, else a substring
	}{
		{"a 0600 file in a private directory is safe", func(t *testing.T, dir string) string {
			return writeSecret(t, dir, "key")
		}, ""},
		{"a directory writable by others exposes the file", func(t *testing.T, dir string) string {
			p := writeSecret(t, dir, "key")
			mustChmod(t, dir, 0o777)
			return p
		}, "group or others can replace"},
		{"a group-writable directory exposes the file", func(t *testing.T, dir string) string {
			p := writeSecret(t, dir, "key")
			mustChmod(t, dir, 0o770)
			return p
		}, "mode 0770"},
		{"a sticky world-writable directory (like /tmp) does not", func(t *testing.T, dir string) string {
			p := writeSecret(t, dir, "key")
			mustChmod(t, dir, 0o777|os.ModeSticky)
			return p
		}, ""},
		{"a symlink to a file in an exposed directory exposes it", func(t *testing.T, dir string) string {
			open := filepath.Join(dir, "open")
			if err := os.Mkdir(open, 0o700); err != nil {
				t.Fatal(err)
			}
			target := writeSecret(t, open, "key")
			mustChmod(t, open, 0o777)
			link := filepath.Join(dir, "link")
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			return link
		}, "open has mode 0777"},
		{"a file owned by another user is exposed", func(t *testing.T, dir string) string {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give a file to another user")
			}
			p := writeSecret(t, dir, "key")
			if err := os.Chown(p, 12345, 12345); err != nil {
				t.Fatal(err)
			}
			return p
		}, "owned by uid 12345"},
		{"a directory owned by another user exposes the file", func(t *testing.T, dir string) string {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give a directory to another user")
			}
			p := writeSecret(t, dir, "key")
			if err := os.Chown(dir, 12345, 12345); err != nil {
				t.Fatal(err)
			}
			return p
		}, "directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "d")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
			why, err := SecretFileExposure(tt.setup(t, dir))
			if err != nil {
				t.Fatal(err)
			}
			if (tt.want == "") != (why == "") || !strings.Contains(why, tt.want) {
				t.Fatalf("SecretFileExposure = %q, want %q", why, tt.want)
			}
		})
	}
	t.Run("a missing file is an error, not a verdict", func(t *testing.T) {
		if _, err := SecretFileExposure(filepath.Join(t.TempDir(), "nope")); err == nil {
			t.Fatal("no error")
		}
	})
}

func writeSecret(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustChmod(t *testing.T, p string, m os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, m); err != nil {
		t.Fatal(err)
	}
}
