//go:build linux && !arm && !386

package lazyfs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// handle is an open regular file: reads and writes go to its inode's page
// cache. It holds no descriptor of its own (the cache has one), and it does
// not implement locks: the kernel keeps POSIX and flock locks itself.
type handle struct {
	n  *node
	st *fileState
}

var (
	_ fs.FileReader    = (*handle)(nil)
	_ fs.FileWriter    = (*handle)(nil)
	_ fs.FileFlusher   = (*handle)(nil)
	_ fs.FileReleaser  = (*handle)(nil)
	_ fs.FileAllocater = (*handle)(nil)
)

func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if errno := h.n.lfs.enter(); errno != 0 {
		return nil, errno
	}
	defer h.n.lfs.leave()
	n, err := h.st.readAt(dest, off)
	if err != nil {
		return nil, fs.ToErrno(err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	if errno := h.n.lfs.beginAt(OpWrite, h.n, "", off, len(data)); errno != 0 {
		return 0, errno
	}
	defer h.n.lfs.leave()
	if err := h.st.writeAt(data, off); err != nil {
		return 0, fs.ToErrno(err)
	}
	h.n.lfs.stats.writes.Add(1)
	return uint32(len(data)), 0
}

// Flush (on close) makes nothing durable: only fsync does.
func (h *handle) Flush(ctx context.Context) syscall.Errno { return 0 }

// Release keeps the page cache: unsynced data outlives the descriptor.
func (h *handle) Release(ctx context.Context) syscall.Errno { return 0 }

// Allocate supports the plain mode (extend the size with zeros).
func (h *handle) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	if mode != 0 {
		return syscall.EOPNOTSUPP
	}
	if errno := h.n.lfs.begin(OpTruncate, h.n, ""); errno != 0 {
		return errno
	}
	defer h.n.lfs.leave()
	h.st.extend(int64(off + size))
	return 0
}
