//go:build linux && !arm && !386

package lazyfs

import (
	"context"
	"errors"
	"path/filepath"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// node is a loopback node whose regular files keep their unsynced data in
// the FS's page cache and whose directory changes go through the journal.
// Operations it does not override (readdir, readlink, xattrs, statfs) pass
// through to the backing directory.
type node struct {
	*fs.LoopbackNode
	lfs *FS
}

var (
	_ fs.NodeWrapChilder    = (*node)(nil)
	_ fs.NodeLookuper       = (*node)(nil)
	_ fs.NodeOpener         = (*node)(nil)
	_ fs.NodeCreater        = (*node)(nil)
	_ fs.NodeGetattrer      = (*node)(nil)
	_ fs.NodeSetattrer      = (*node)(nil)
	_ fs.NodeStatxer        = (*node)(nil)
	_ fs.NodeFsyncer        = (*node)(nil)
	_ fs.NodeOpendirHandler = (*node)(nil)
	_ fs.NodeMkdirer        = (*node)(nil)
	_ fs.NodeMknoder        = (*node)(nil)
	_ fs.NodeSymlinker      = (*node)(nil)
	_ fs.NodeLinker         = (*node)(nil)
	_ fs.NodeUnlinker       = (*node)(nil)
	_ fs.NodeRmdirer        = (*node)(nil)
	_ fs.NodeRenamer        = (*node)(nil)
	_ fs.NodeTmpfiler       = (*node)(nil)
)

// WrapChild makes every node of the tree a lazy one.
func (n *node) WrapChild(ctx context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	return &node{LoopbackNode: ops.(*fs.LoopbackNode), lfs: n.lfs}
}

// backing returns the backing path of the child name ("" for n itself).
func (n *node) backing(name string) string {
	return filepath.Join(n.RootData.Path, n.Path(n.Root()), name)
}

func (n *node) regular() bool { return n.StableAttr().Mode&syscall.S_IFMT == syscall.S_IFREG }

// Lookup reports the logical size of a file with unsynced data.
func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ch, errno := n.LoopbackNode.Lookup(ctx, name, out)
	if errno == 0 {
		n.lfs.fixSize(&out.Attr)
	}
	return ch, errno
}

// Open gives a regular file a handle on the shared page cache. O_TRUNC is
// applied to the cache, not to the backing file.
func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if !n.regular() {
		return n.LoopbackNode.Open(ctx, flags)
	}
	if errno := n.lfs.begin(OpOpen, n, ""); errno != 0 {
		return nil, 0, errno
	}
	defer n.lfs.leave()
	fh, _, errno := n.LoopbackNode.Open(ctx, flags&^syscall.O_TRUNC)
	if errno != 0 {
		return nil, 0, errno
	}
	h, errno := n.lfs.handleFor(ctx, n, fh)
	if errno != 0 {
		return nil, 0, errno
	}
	if flags&syscall.O_TRUNC != 0 {
		if err := h.st.truncate(0); err != nil {
			return nil, 0, fs.ToErrno(err)
		}
	}
	return h, 0, 0
}

// Create makes the file in the backing directory (a journaled change) and
// opens it on the page cache.
func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	if errno := n.lfs.begin(OpCreate, n, name); errno != 0 {
		return nil, nil, 0, errno
	}
	defer n.lfs.leave()
	var ch *fs.Inode
	var fh fs.FileHandle
	path := n.backing(name)
	err := n.lfs.journal.do(func() (entry, error) {
		var errno syscall.Errno
		ch, fh, _, errno = n.LoopbackNode.Create(ctx, name, (flags|syscall.O_EXCL)&^syscall.O_TRUNC, mode, out)
		if errno != 0 {
			return entry{}, errno
		}
		return entry{kind: created, path: path}, nil
	})
	if errors.Is(err, syscall.EEXIST) && flags&syscall.O_EXCL == 0 {
		// The name exists after all: open it, nothing to undo.
		var errno syscall.Errno
		if ch, fh, _, errno = n.LoopbackNode.Create(ctx, name, flags&^syscall.O_TRUNC, mode, out); errno != 0 {
			return nil, nil, 0, errno
		}
		err = nil
	}
	if err != nil {
		return nil, nil, 0, fs.ToErrno(err)
	}
	child, ok := ch.Operations().(*node)
	if !ok {
		return nil, nil, 0, syscall.EIO
	}
	h, errno := n.lfs.handleFor(ctx, child, fh)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	if flags&syscall.O_TRUNC != 0 {
		if err := h.st.truncate(0); err != nil {
			return nil, nil, 0, fs.ToErrno(err)
		}
	}
	out.Attr.Size = uint64(h.st.logicalSize())
	return ch, h, 0, 0
}

// Getattr reports the logical size.
func (n *node) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if errno := n.lfs.enter(); errno != 0 {
		return errno
	}
	defer n.lfs.leave()
	return n.getattr(ctx, f, out)
}

func (n *node) getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if h, ok := f.(*handle); ok {
		var st syscall.Stat_t
		if err := syscall.Fstat(int(h.st.fd.Fd()), &st); err != nil {
			return fs.ToErrno(err)
		}
		out.FromStat(&st)
		setSize(&out.Attr, h.st.logicalSize())
		return 0
	}
	if errno := n.LoopbackNode.Getattr(ctx, nil, out); errno != 0 {
		return errno
	}
	n.lfs.fixSize(&out.Attr)
	return 0
}

// Statx is left to GETATTR (the kernel falls back to it), so that sizes
// come from one place.
func (n *node) Statx(ctx context.Context, f fs.FileHandle, flags, mask uint32, out *fuse.StatxOut) syscall.Errno {
	return syscall.ENOSYS
}

// Setattr applies a size change to the page cache; other attributes (mode,
// owner, times) pass through to the backing file at once.
func (n *node) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if errno := n.lfs.begin(OpTruncate, n, ""); errno != 0 {
		return errno
	}
	defer n.lfs.leave()
	if size, ok := in.GetSize(); ok && n.regular() {
		h, ok := f.(*handle)
		if !ok {
			fh, _, errno := n.LoopbackNode.Open(ctx, syscall.O_RDONLY)
			if errno != 0 {
				return errno
			}
			if h, errno = n.lfs.handleFor(ctx, n, fh); errno != 0 {
				return errno
			}
		}
		if err := h.st.truncate(int64(size)); err != nil {
			return fs.ToErrno(err)
		}
		f = h
		in.Valid &^= fuse.FATTR_SIZE
	}
	const passed = fuse.FATTR_MODE | fuse.FATTR_UID | fuse.FATTR_GID | fuse.FATTR_ATIME | fuse.FATTR_MTIME
	if in.Valid&passed != 0 {
		if errno := n.LoopbackNode.Setattr(ctx, nil, in, out); errno != 0 {
			return errno
		}
	}
	return n.getattr(ctx, f, out)
}

// Fsync writes the file's unsynced data to the backing file. A directory's
// fsync arrives through its handle (dirHandle.Fsyncdir).
func (n *node) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	if errno := n.lfs.begin(OpFsync, n, ""); errno != 0 {
		return errno
	}
	defer n.lfs.leave()
	h, ok := f.(*handle)
	if !ok {
		return 0
	}
	n.lfs.stats.fsyncs.Add(1)
	return fs.ToErrno(h.st.flush(n.lfs.opts.SyncBacking))
}

// Tmpfile (O_TMPFILE) is not supported: its data would bypass the cache.
func (n *node) Tmpfile(ctx context.Context, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EOPNOTSUPP
}

// OpendirHandle wraps the loopback directory stream so that its fsync
// commits the journal.
func (n *node) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	fh, fuseFlags, errno := n.LoopbackNode.OpendirHandle(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	return &dirHandle{stream: fh.(fs.DirStream), n: n}, fuseFlags, 0
}

// journaled runs a directory change of n's child name through the journal.
func (n *node) journaled(op Op, name string, change func() (entry, error)) syscall.Errno {
	if errno := n.lfs.begin(op, n, name); errno != 0 {
		return errno
	}
	defer n.lfs.leave()
	return fs.ToErrno(n.lfs.journal.do(change))
}

// Mkdir makes a directory (journaled).
func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	var ch *fs.Inode
	errno := n.journaled(OpCreate, name, func() (entry, error) {
		var errno syscall.Errno
		if ch, errno = n.LoopbackNode.Mkdir(ctx, name, mode, out); errno != 0 {
			return entry{}, errno
		}
		return entry{kind: madeDir, path: n.backing(name)}, nil
	})
	return ch, errno
}

// Mknod makes a special file (journaled).
func (n *node) Mknod(ctx context.Context, name string, mode, rdev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	var ch *fs.Inode
	errno := n.journaled(OpCreate, name, func() (entry, error) {
		var errno syscall.Errno
		if ch, errno = n.LoopbackNode.Mknod(ctx, name, mode, rdev, out); errno != 0 {
			return entry{}, errno
		}
		return entry{kind: created, path: n.backing(name)}, nil
	})
	return ch, errno
}

// Symlink makes a symbolic link (journaled).
func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	var ch *fs.Inode
	errno := n.journaled(OpCreate, name, func() (entry, error) {
		var errno syscall.Errno
		if ch, errno = n.LoopbackNode.Symlink(ctx, target, name, out); errno != 0 {
			return entry{}, errno
		}
		return entry{kind: created, path: n.backing(name)}, nil
	})
	return ch, errno
}

// Link makes a hard link (journaled).
func (n *node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if t, ok := target.(*node); ok {
		target = t.LoopbackNode
	}
	var ch *fs.Inode
	errno := n.journaled(OpCreate, name, func() (entry, error) {
		var errno syscall.Errno
		if ch, errno = n.LoopbackNode.Link(ctx, target, name, out); errno != 0 {
			return entry{}, errno
		}
		return entry{kind: created, path: n.backing(name)}, nil
	})
	if errno == 0 {
		n.lfs.fixSize(&out.Attr)
	}
	return ch, errno
}

// Unlink removes a name; its inode waits in the trash until a commit.
func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	if errno := n.lfs.begin(OpUnlink, n, name); errno != 0 {
		return errno
	}
	defer n.lfs.leave()
	return fs.ToErrno(n.lfs.journal.unlink(n.backing(name)))
}

// Rmdir removes an empty directory (journaled).
func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	if errno := n.lfs.begin(OpUnlink, n, name); errno != 0 {
		return errno
	}
	defer n.lfs.leave()
	return fs.ToErrno(n.lfs.journal.rmdir(n.backing(name)))
}

// Rename renames (journaled); a replaced file waits in the trash.
func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	p2, ok := newParent.(*node)
	if !ok || p2.lfs != n.lfs {
		return syscall.EXDEV
	}
	if errno := n.lfs.begin(OpRename, n, name); errno != 0 {
		return errno
	}
	defer n.lfs.leave()
	return fs.ToErrno(n.lfs.journal.rename(n.backing(name), p2.backing(newName), flags))
}

// dirHandle is a directory stream whose fsync commits the journal.
type dirHandle struct {
	stream fs.DirStream
	n      *node
}

var (
	_ fs.FileFsyncdirer   = (*dirHandle)(nil)
	_ fs.FileReaddirenter = (*dirHandle)(nil)
	_ fs.FileSeekdirer    = (*dirHandle)(nil)
	_ fs.FileReleasedirer = (*dirHandle)(nil)
)

func (d *dirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	if r, ok := d.stream.(fs.FileReaddirenter); ok {
		return r.Readdirent(ctx)
	}
	if !d.stream.HasNext() {
		return nil, 0
	}
	e, errno := d.stream.Next()
	return &e, errno
}

func (d *dirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	if s, ok := d.stream.(fs.FileSeekdirer); ok {
		return s.Seekdir(ctx, off)
	}
	return syscall.ENOTSUP
}

func (d *dirHandle) Releasedir(ctx context.Context, flags uint32) {
	if r, ok := d.stream.(fs.FileReleasedirer); ok {
		r.Releasedir(ctx, flags)
		return
	}
	d.stream.Close()
}

// Fsyncdir commits every directory change recorded so far.
func (d *dirHandle) Fsyncdir(ctx context.Context, flags uint32) syscall.Errno {
	if errno := d.n.lfs.begin(OpFsyncDir, d.n, ""); errno != 0 {
		return errno
	}
	defer d.n.lfs.leave()
	d.n.lfs.stats.dirFsyncs.Add(1)
	if err := d.n.lfs.commit(); err != nil {
		return fs.ToErrno(err)
	}
	return 0
}

func setSize(a *fuse.Attr, size int64) {
	a.Size = uint64(size)
	a.Blocks = (a.Size + 511) / 512
}
