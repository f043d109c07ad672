package queue

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// secureDir creates the store directory with mode 0700, or makes an
// existing one 0700: the queue holds every device's telemetry. A directory
// owned by another user (not root) is refused, since its owner could open
// it again at any time.
func secureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create store directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("store directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("store directory %s is not a directory", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("store directory %s is owned by uid %d, not by ingestd's user (uid %d): give it to that user (chown) or use another store.dir",
			dir, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("store directory %s has mode %04o and cannot be made 0700: %w", dir, fi.Mode().Perm(), err)
		}
	}
	return nil
}

// storeFiles are the files a store directory holds.
var storeFiles = []string{FileName, FileName + "-wal", FileName + "-shm", LockName}

// secureFiles creates the store file with mode 0600 when it is missing (so
// SQLite, which gives its -wal and -shm files the mode of the database,
// creates those 0600 too) and makes every existing store file 0600.
func secureFiles(dir string) error {
	f, err := os.OpenFile(filepath.Join(dir, FileName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("create store file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("create store file: %w", err)
	}
	for _, name := range storeFiles {
		p := filepath.Join(dir, name)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store file: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("store file %s is not a regular file", p)
		}
		if fi.Mode().Perm() != 0o600 {
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("store file %s has mode %04o and cannot be made 0600: %w", p, fi.Mode().Perm(), err)
			}
		}
	}
	return nil
}
