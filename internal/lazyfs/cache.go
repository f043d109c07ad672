//go:build linux && !arm && !386

package lazyfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
)

// pageSize is the unit in which unsynced file data is kept.
const pageSize = 4096

// fileState is the page cache of one backing inode: the writes since its
// last fsync. Every handle of the inode shares it, so an fsync through any
// of them makes all of them durable, as on a real filesystem.
//
// Invariants: low <= size; the backing file holds the durable content,
// which is the logical content for every byte below low that no dirty page
// covers; every byte at or above low that no dirty page covers reads as
// zero; the bytes of a dirty page at or above size are zero.
type fileState struct {
	mu      sync.Mutex
	fd      *os.File // read-write on the backing inode, whatever its name
	size    int64    // logical size
	low     int64    // the smallest logical size since the last flush
	durable int64    // size of the backing file
	pages   map[int64][]byte
}

// newFileState opens the backing inode behind fd read-write (through
// /proc/self/fd, so it follows the inode, not a name).
func newFileState(fd int) (*fileState, error) {
	f, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", fd), os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("reopen backing file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("stat backing file: %w", err)
	}
	size := fi.Size()
	return &fileState{fd: f, size: size, low: size, durable: size, pages: map[int64][]byte{}}, nil
}

// fill copies the logical content that no dirty page covers at off into dst.
func (s *fileState) fill(dst []byte, off int64) error {
	clear(dst)
	n := min(int64(len(dst)), max(s.low-off, 0))
	if n <= 0 {
		return nil
	}
	// A backing file shorter than low reads as zeros past its end.
	if _, err := s.fd.ReadAt(dst[:n], off); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read backing file: %w", err)
	}
	return nil
}

// page returns the dirty page at index i, materialising it.
func (s *fileState) page(i int64) ([]byte, error) {
	if p, ok := s.pages[i]; ok {
		return p, nil
	}
	p := make([]byte, pageSize)
	if err := s.fill(p, i*pageSize); err != nil {
		return nil, err
	}
	// Bytes at or above size stay zero (fill reads nothing at or above low <= size).
	s.pages[i] = p
	return p, nil
}

// readAt reads the logical content.
func (s *fileState) readAt(dst []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if off >= s.size {
		return 0, nil
	}
	dst = dst[:min(int64(len(dst)), s.size-off)]
	for done := 0; done < len(dst); {
		pos := off + int64(done)
		i, in := pos/pageSize, pos%pageSize
		chunk := dst[done:min(len(dst), done+int(pageSize-in))]
		if p, ok := s.pages[i]; ok {
			copy(chunk, p[in:])
		} else if err := s.fill(chunk, pos); err != nil {
			return done, err
		}
		done += len(chunk)
	}
	return len(dst), nil
}

// writeAt keeps data in dirty pages.
func (s *fileState) writeAt(data []byte, off int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for done := 0; done < len(data); {
		pos := off + int64(done)
		i, in := pos/pageSize, pos%pageSize
		p, err := s.page(i)
		if err != nil {
			return err
		}
		done += copy(p[in:], data[done:])
	}
	s.size = max(s.size, off+int64(len(data)))
	return nil
}

// truncate sets the logical size.
func (s *fileState) truncate(size int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if size < s.size {
		for i := range s.pages {
			if i*pageSize >= size {
				delete(s.pages, i)
			}
		}
		if in := size % pageSize; in != 0 {
			p, err := s.page(size / pageSize)
			if err != nil {
				return err
			}
			clear(p[in:])
		}
		s.low = min(s.low, size)
	}
	s.size = size
	return nil
}

// extend grows the logical size to at least size; the new bytes read as zero.
func (s *fileState) extend(size int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.size = max(s.size, size)
}

// logicalSize returns the size a stat reports.
func (s *fileState) logicalSize() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

// unsynced reports whether the state holds changes since the last flush,
// and how many bytes of dirty pages.
func (s *fileState) unsynced() (dirty bool, pageBytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pageBytes = int64(len(s.pages)) * pageSize
	return pageBytes > 0 || s.size != s.durable || s.low != s.durable, pageBytes
}

// flush writes the dirty pages and the size to the backing file, and
// fsyncs it when sync is set. Afterwards the backing file holds the
// logical content.
func (s *fileState) flush(sync bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pages) == 0 && s.size == s.durable && s.low == s.durable {
		return nil
	}
	if s.low < s.durable {
		// Stale bytes above low must read as zero where no page covers them.
		if err := s.fd.Truncate(s.low); err != nil {
			return fmt.Errorf("flush: %w", err)
		}
	}
	for i, p := range s.pages {
		start := i * pageSize
		if start >= s.size {
			continue
		}
		if _, err := s.fd.WriteAt(p[:min(pageSize, s.size-start)], start); err != nil {
			return fmt.Errorf("flush: %w", err)
		}
	}
	if err := s.fd.Truncate(s.size); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	if sync {
		if err := syscall.Fdatasync(int(s.fd.Fd())); err != nil {
			return fmt.Errorf("flush: fdatasync: %w", err)
		}
	}
	clear(s.pages)
	s.low, s.durable = s.size, s.size
	return nil
}

// discard forgets every unsynced change: the power failed.
func (s *fileState) discard() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.pages)
	s.size, s.low = s.durable, s.durable
}

func (s *fileState) close() error { return s.fd.Close() }
