package mosquitto

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ErrNotRegular is returned for an acl_file that is not a regular file (a
// FIFO, a device, a directory): reading one could block or never end.
var ErrNotRegular = errors.New("not a regular file")

// LoadACL reads and parses the acl_file at path. Only a regular file is
// read, and at most MaxFileBytes of it: anything else is refused before a
// byte is read.
func LoadACL(path string) (*ACL, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, fmt.Errorf("open acl_file: %w", err)
	}
	defer f.Close()
	return ParseACL(f, path)
}

// openRegular opens path for reading only if it is a regular file. The
// open does not block (O_NONBLOCK: a FIFO swapped in after the check is
// opened without waiting for a writer) and the file opened must be the one
// checked.
func openRegular(path string) (*os.File, error) {
	before, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, before.Mode().Type())
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	after, err := f.Stat()
	if err == nil && (!after.Mode().IsRegular() || !os.SameFile(before, after)) {
		err = fmt.Errorf("%s: %w (replaced while it was opened)", path, ErrNotRegular)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Path is the file a directive names (acl_file, password_file): as written
// when absolute, else relative to the folder of the config file it stands
// in. Mosquitto itself opens a relative path from its working directory,
// which an auditor does not know; the config's folder is the usual one.
func (d Directive) Path() string {
	if filepath.IsAbs(d.Value) {
		return d.Value
	}
	return filepath.Join(filepath.Dir(d.File), d.Value)
}
