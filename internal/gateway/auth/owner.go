package auth

import (
	"fmt"
	"os"
	"syscall"
)

// geteuid is os.Geteuid; tests replace it.
var geteuid = os.Geteuid

// takeDirOwner gives f the owner and group of dir when the caller is root.
// "ingestd token add" run by root (sudo, a package's maintainer script)
// then leaves the tokens file and its lock owned by the service user that
// owns the tokens directory (ingestd:ingestd, mode 0700 in the .deb), so
// the service can still read it. Any other caller cannot chown and keeps
// its own ownership, which is already the directory owner's in practice.
func takeDirOwner(f *os.File, dir string) error {
	if geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("owner of %s: %w", dir, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if err := f.Chown(int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("give %s the owner of %s: %w", f.Name(), dir, err)
	}
	return nil
}
