package config

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// SecretFileExposure says why a user other than root and the one running
// ingestd could change or replace the secret file at path: the file, or a
// directory on its path (before and after symlinks), is owned by another
// user, or such a directory is writable by group or others without the
// sticky bit (anyone who can write a directory can rename another file over
// the secret). It returns "" when only root and ingestd's user can, and an
// error when the file cannot be inspected.
func SecretFileExposure(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", err
	}
	uid := uint32(os.Geteuid())
	fi, err := os.Stat(real)
	if err != nil {
		return "", err
	}
	if owner, ok := ownerOf(fi); ok && owner != 0 && owner != uid {
		return fmt.Sprintf("the file %s is owned by uid %d, not by ingestd's user (uid %d) or root", real, owner, uid), nil
	}
	seen := map[string]bool{}
	for _, p := range []string{abs, real} {
		for dir := filepath.Dir(p); !seen[dir]; dir = filepath.Dir(dir) {
			seen[dir] = true
			if why, err := dirExposure(dir, uid); err != nil || why != "" {
				return why, err
			}
		}
	}
	return "", nil
}

func dirExposure(dir string, uid uint32) (string, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	if owner, ok := ownerOf(fi); ok && owner != 0 && owner != uid {
		return fmt.Sprintf("the directory %s is owned by uid %d, not by ingestd's user (uid %d) or root", dir, owner, uid), nil
	}
	if m := fi.Mode(); m.Perm()&0o022 != 0 && m&fs.ModeSticky == 0 {
		return fmt.Sprintf("the directory %s has mode %04o: group or others can replace files in it", dir, m.Perm()), nil
	}
	return "", nil
}

func ownerOf(fi fs.FileInfo) (uint32, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Uid, true
}
