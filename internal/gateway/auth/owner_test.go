package auth

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func ownerOf(t *testing.T, path string) (uid, gid uint32) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid
}

// TestRootTokenWritesTakeTheDirectoryOwner: root running "ingestd token
// add/revoke" on a tokens directory owned by the service user leaves the
// tokens file and its lock owned by that user, so the service can read them.
func TestRootTokenWritesTakeTheDirectoryOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown (CI runs as root)")
	}
	const uid, gid = 65534, 65533
	tests := []struct {
		name           string
		pretendNonRoot bool
		wantUID        uint32
		wantGID        uint32
	}{
		{"root takes the tokens directory's owner and group", false, uid, gid},
		{"a caller that is not root keeps its own ownership", true, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.pretendNonRoot {
				geteuid = func() int { return 1000 }
				t.Cleanup(func() { geteuid = os.Geteuid })
			}
			dir := filepath.Join(t.TempDir(), "tokens.d")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(dir, uid, gid); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "tokens")
			for _, step := range []struct {
				what string
				do   func() error
			}{
				{"add", func() error { _, err := AddToken(path, "sensor-1"); return err }},
				{"second add", func() error { _, err := AddToken(path, "sensor-2"); return err }},
				{"revoke", func() error { _, err := RevokeDevice(path, "sensor-1"); return err }},
			} {
				if err := step.do(); err != nil {
					t.Fatalf("%s: %v", step.what, err)
				}
				for _, f := range []string{path, path + ".lock"} {
					if u, g := ownerOf(t, f); u != tt.wantUID || g != tt.wantGID {
						t.Errorf("after %s: %s is owned by %d:%d, want %d:%d", step.what, filepath.Base(f), u, g, tt.wantUID, tt.wantGID)
					}
				}
				if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
					t.Errorf("after %s: tokens file mode %v, want 0600", step.what, fi.Mode().Perm())
				}
			}
		})
	}
}
