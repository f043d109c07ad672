// Package localfile reads the local files an audit names (the gateway
// config, the files its include_dir directives pull in, CA files): regular
// files only, capped in size, and never past the audit's deadline. A named
// pipe, a device or a directory given where a file is expected would
// otherwise block an audit forever (a FIFO without a writer blocks open;
// /dev/zero never ends), so each is refused before a byte is read.
package localfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ErrNotRegular marks a path that is not a regular file (or, for ReadDir,
// not a directory).
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge marks a file over the size cap.
var ErrTooLarge = errors.New("larger than the size cap")

// Read returns the content of the regular file at path, at most max bytes
// (a larger file is ErrTooLarge). It opens without blocking (O_NONBLOCK, so
// a FIFO or a terminal cannot hold the open), checks the opened file itself
// (fstat, so a swap after a check cannot slip a FIFO in) and stops waiting
// when ctx ends.
func Read(ctx context.Context, path string, max int64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, Kind(fi.Mode()))}
	}
	if fi.Size() > max {
		f.Close()
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w of %d bytes", ErrTooLarge, max)}
	}
	type read struct {
		data []byte
		err  error
	}
	done := make(chan read, 1)
	// A regular file on a stalled file system (NFS, FUSE) can still block
	// a read; the goroutine then outlives the audit, which returns.
	go func() {
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, max+1))
		done <- read{data, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: r.err}
		}
		if int64(len(r.data)) > max {
			return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w of %d bytes", ErrTooLarge, max)}
		}
		return r.data, nil
	case <-ctx.Done():
		return nil, &fs.PathError{Op: "read", Path: path, Err: ctx.Err()}
	}
}

// ReadDir lists the directory at path. Opened with O_DIRECTORY, a FIFO or
// a device in its place is refused by the kernel without blocking.
func ReadDir(ctx context.Context, path string) ([]os.DirEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_DIRECTORY, 0)
	if errors.Is(err, syscall.ENOTDIR) {
		return nil, &fs.PathError{Op: "open", Path: path, Err: errors.New("not a directory")}
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// Check reports, without opening it, whether path is a regular file (a
// symlink is followed), so a spec can be refused before an audit starts.
// Read checks again on the opened file.
func Check(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return &fs.PathError{Op: "stat", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, Kind(fi.Mode()))}
	}
	return nil
}

// Kind names the type of a file mode in words.
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "regular file"
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	}
	return "irregular file"
}
