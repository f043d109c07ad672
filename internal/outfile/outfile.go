// Package outfile writes the files hardgate produces (results, reports,
// deltas, the demo's artifacts and keys) the one safe way: a temp file
// created exclusively in the target folder (os.CreateTemp, never a
// predictable name, never through a symlink), written, synced, given its
// mode and renamed over the target. A reader sees the old file or the whole
// new one, never a part; a symlink planted at the target path is replaced,
// not followed, so nothing is ever written where it points.
package outfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Private is the mode of a file holding results or secrets: readable by
// its owner only.
const Private fs.FileMode = 0o600

// Write replaces path with data, mode Private.
func Write(path string, data []byte) error { return WriteMode(path, data, Private) }

// WriteMode replaces path with data and gives it mode (a public
// certificate is 0644; everything else is Private).
func WriteMode(path string, data []byte, mode fs.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if base == "" {
		return fmt.Errorf("write %s: not a file name", path)
	}
	if dir == "" {
		dir = "."
	}
	if fi, statErr := os.Lstat(path); statErr == nil && fi.IsDir() {
		return fmt.Errorf("write %s: is a directory", path)
	}
	// CreateTemp opens with O_CREATE|O_EXCL and a random name: a file or
	// symlink already at that name is never opened, a new name is tried.
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(mode.Perm()); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// rename(2) replaces the directory entry path: a symlink there is
	// itself replaced, its target untouched.
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

// syncDir makes the rename durable. A file system that cannot sync a
// directory (EINVAL) is not an error: the data itself was synced.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil //nolint:nilerr // the file is written; durability of the entry is best effort
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
