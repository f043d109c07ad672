//go:build linux && !arm && !386

// Package lazyfs is a FUSE filesystem for power-loss tests, in the way of
// Jepsen's LazyFS: it passes through to a backing directory but keeps
// every write since the last fsync in memory, so that a simulated power
// cut can discard exactly what a real one would.
//
// File data and size: writes and truncations of a regular file go to a
// page cache shared by every descriptor of the inode; fsync of any of them
// writes the file's dirty pages and size to the backing file. Closing a
// file makes nothing durable.
//
// Directory entries: see journal.go. Creates, links, unlinks, renames,
// mkdir and rmdir reach the backing directory at once but stay undoable
// until a directory is fsynced.
//
// Cut is the power cut: it freezes the filesystem (every later operation
// fails with EIO), discards the page cache, undoes uncommitted directory
// changes and unmounts. The backing directory then holds only what was
// fsynced, and Mount on it again is the reboot. The processes using the
// mount must be killed (as the power cut would) before Cut unmounts.
//
// Not modelled: torn writes within a page, reordering of writes within one
// fsync, metadata other than the size (mode, owner and times pass through
// at once), O_TMPFILE (refused), and mmap beyond what the kernel writes
// back through write requests. A test must run the code under test in
// another process: a process that page-faults on a mapping of its own
// FUSE mount can deadlock the Go runtime that serves the mount.
package lazyfs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Options configures Mount.
type Options struct {
	// Backing is the directory that holds the durable state.
	Backing string
	// Mountpoint is an existing empty directory to mount on.
	Mountpoint string
	// SyncBacking makes each fsync also fdatasync the backing file. The
	// simulation does not need it (the backing directory stands for the
	// disk); it matters only if the test machine itself may lose power.
	SyncBacking bool
	// Hook, if set, is called before each operation that changes state
	// (and before each open), with the FS's read lock held: it may call
	// Freeze, and nothing else of the FS. An operation whose hook froze the
	// FS fails with EIO, as if the power had failed just before it.
	Hook func(Event)
	// Debug logs every FUSE request.
	Debug bool
}

// Op names an operation passed to Options.Hook.
type Op string

// The operations a Hook sees.
const (
	OpOpen     Op = "open"
	OpCreate   Op = "create" // create, mkdir, mknod, symlink, link
	OpWrite    Op = "write"
	OpTruncate Op = "truncate" // setattr, fallocate
	OpFsync    Op = "fsync"
	OpFsyncDir Op = "fsyncdir"
	OpUnlink   Op = "unlink" // unlink, rmdir
	OpRename   Op = "rename"
)

// Event is one operation, seen by Options.Hook.
type Event struct {
	Op   Op
	Path string // relative to the mount
	Off  int64  // write: offset
	Len  int    // write: length
}

// Stats counts what the filesystem saw and what a cut discarded.
type Stats struct {
	Writes    int64 // write requests
	Fsyncs    int64 // file fsyncs
	DirFsyncs int64 // directory fsyncs (journal commits)
	// Set by Cut.
	LostFiles   int   // files that had unsynced data or size
	LostBytes   int64 // dirty page bytes discarded
	UndoneNames int   // directory changes undone
}

// FS is a mounted lazy filesystem.
type FS struct {
	opts   Options
	server *fuse.Server

	// mu is held for reading by every operation and for writing by Cut
	// and Unmount, so that those see no operation half done.
	mu      sync.RWMutex
	frozen  atomic.Bool
	done    bool // unmounted by Cut or Unmount; guarded by mu
	journal *journal

	statesMu sync.Mutex
	states   map[uint64]*fileState // by backing inode number

	stats struct{ writes, fsyncs, dirFsyncs atomic.Int64 }
}

// Mount mounts a lazy view of opts.Backing on opts.Mountpoint. It needs
// /dev/fuse and the right to mount (root, or fusermount3). Removed and
// replaced files wait for the next commit in a directory beside Backing
// (".NAME.lazyfs-trash"), which must be on the same filesystem.
func Mount(opts Options) (*FS, error) {
	backing, err := filepath.Abs(opts.Backing)
	if err != nil {
		return nil, fmt.Errorf("lazyfs: %w", err)
	}
	opts.Backing = backing
	trash := filepath.Join(filepath.Dir(backing), "."+filepath.Base(backing)+".lazyfs-trash")
	if err := os.Mkdir(trash, 0o700); err != nil {
		return nil, fmt.Errorf("lazyfs: trash directory (a leftover one holds files of a run that did not end): %w", err)
	}
	if err := sameDevice(backing, trash); err != nil {
		_ = os.Remove(trash)
		return nil, err
	}
	f := &FS{opts: opts, journal: &journal{trashDir: trash}, states: map[uint64]*fileState{}}
	root, err := fs.NewLoopbackRoot(backing)
	if err != nil {
		_ = os.Remove(trash)
		return nil, fmt.Errorf("lazyfs: %w", err)
	}
	lb := root.(*fs.LoopbackNode)
	r := &node{LoopbackNode: lb, lfs: f}
	lb.RootData.RootNode = r
	zero := time.Duration(0)
	f.server, err = fs.Mount(opts.Mountpoint, r, &fs.Options{
		MountOptions: fuse.MountOptions{FsName: "lazyfs:" + backing, Name: "lazyfs", DirectMount: true, Debug: opts.Debug},
		// No kernel caching of names or attributes: every size is ours.
		EntryTimeout: &zero, AttrTimeout: &zero, NegativeTimeout: &zero,
	})
	if err != nil {
		_ = os.Remove(trash)
		return nil, fmt.Errorf("lazyfs: mount %s: %w", opts.Mountpoint, err)
	}
	return f, nil
}

func sameDevice(a, b string) error {
	var sa, sb syscall.Stat_t
	if err := syscall.Stat(a, &sa); err != nil {
		return fmt.Errorf("lazyfs: %w", err)
	}
	if err := syscall.Stat(b, &sb); err != nil {
		return fmt.Errorf("lazyfs: %w", err)
	}
	if sa.Dev != sb.Dev {
		return fmt.Errorf("lazyfs: %s and its trash directory %s are on different filesystems", a, b)
	}
	return nil
}

// Freeze stops the filesystem at once: every later operation fails with
// EIO and changes nothing. It may be called from a Hook.
func (f *FS) Freeze() { f.frozen.Store(true) }

// Cut simulates a power cut: it freezes the filesystem, waits for the
// operations in flight, discards every unsynced write, size change and
// directory change, and unmounts. Kill the processes that use the mount
// first. The returned Stats tell what was lost. Cut and Unmount after the
// first of them do nothing.
func (f *FS) Cut() (Stats, error) {
	f.Freeze()
	f.mu.Lock()
	st := f.Stats()
	if f.done {
		f.mu.Unlock()
		return st, nil
	}
	f.done = true
	f.statesMu.Lock()
	var errs []error
	for _, s := range f.states {
		if dirty, n := s.unsynced(); dirty {
			st.LostFiles++
			st.LostBytes += n
		}
		s.discard()
		errs = append(errs, s.close())
	}
	clear(f.states)
	f.statesMu.Unlock()
	var err error
	st.UndoneNames, err = f.journal.rollback()
	errs = append(errs, err)
	f.mu.Unlock()
	errs = append(errs, f.unmount())
	return st, errors.Join(errs...)
}

// Unmount is a clean shutdown: it writes every unsynced change to the
// backing directory (as the kernel would in time), then unmounts. Close
// every file on the mount first.
func (f *FS) Unmount() error {
	f.mu.Lock()
	if f.done {
		f.mu.Unlock()
		return nil
	}
	f.done = true
	var errs []error
	f.statesMu.Lock()
	for _, s := range f.states {
		errs = append(errs, s.flush(f.opts.SyncBacking), s.close())
	}
	clear(f.states)
	f.statesMu.Unlock()
	errs = append(errs, f.journal.commit())
	f.Freeze()
	f.mu.Unlock()
	errs = append(errs, f.unmount())
	return errors.Join(errs...)
}

func (f *FS) unmount() error {
	if err := f.server.Unmount(); err != nil {
		// A descriptor still open somewhere: detach, as a dead machine would.
		if err2 := syscall.Unmount(f.opts.Mountpoint, syscall.MNT_DETACH); err2 != nil {
			return fmt.Errorf("lazyfs: unmount %s: %w (detach: %w)", f.opts.Mountpoint, err, err2)
		}
		f.server.Wait()
	}
	if err := os.Remove(f.journal.trashDir); err != nil {
		return fmt.Errorf("lazyfs: trash directory: %w", err)
	}
	return nil
}

// Stats returns the counters so far.
func (f *FS) Stats() Stats {
	return Stats{Writes: f.stats.writes.Load(), Fsyncs: f.stats.fsyncs.Load(), DirFsyncs: f.stats.dirFsyncs.Load()}
}

// enter takes the read lock, or fails with EIO once frozen.
func (f *FS) enter() syscall.Errno {
	f.mu.RLock()
	if f.frozen.Load() {
		f.mu.RUnlock()
		return syscall.EIO
	}
	return 0
}

func (f *FS) leave() { f.mu.RUnlock() }

// begin is enter for an operation the Hook sees.
func (f *FS) begin(op Op, n *node, name string) syscall.Errno { return f.beginAt(op, n, name, 0, 0) }

func (f *FS) beginAt(op Op, n *node, name string, off int64, length int) syscall.Errno {
	if errno := f.enter(); errno != 0 {
		return errno
	}
	if f.opts.Hook != nil {
		f.opts.Hook(Event{Op: op, Path: filepath.Join(n.Path(n.Root()), name), Off: off, Len: length})
		if f.frozen.Load() {
			f.leave()
			return syscall.EIO
		}
	}
	return 0
}

// handleFor turns a loopback handle of n into a handle on the page cache
// of its inode, and closes the loopback one.
func (f *FS) handleFor(ctx context.Context, n *node, fh fs.FileHandle) (*handle, syscall.Errno) {
	lf, ok := fh.(*fs.LoopbackFile)
	if !ok {
		return nil, syscall.EIO
	}
	defer lf.Release(ctx)
	fd, _ := lf.PassthroughFd()
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, fs.ToErrno(err)
	}
	f.statesMu.Lock()
	defer f.statesMu.Unlock()
	s := f.states[st.Ino]
	if s == nil {
		var err error
		if s, err = newFileState(fd); err != nil {
			return nil, fs.ToErrno(err)
		}
		f.states[st.Ino] = s
	}
	return &handle{n: n, st: s}, 0
}

// fixSize sets the logical size of a file whose inode has a page cache.
func (f *FS) fixSize(a *fuse.Attr) {
	f.statesMu.Lock()
	s := f.states[a.Ino]
	f.statesMu.Unlock()
	if s != nil {
		setSize(a, s.logicalSize())
	}
}

// commit makes every directory change so far durable.
func (f *FS) commit() error { return f.journal.commit() }
