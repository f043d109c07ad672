//go:build linux && !arm && !386

package lazyfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// The namespace model. Directory entries (create, mkdir, link, symlink,
// mknod, unlink, rmdir, rename) are applied to the backing directory at
// once, and each is recorded in one ordered journal with what undoes it.
// An fsync of any directory commits every change recorded so far (as
// ext4's metadata journal does: a commit takes all earlier metadata
// changes with it); a power cut undoes the uncommitted ones in reverse
// order. A name removed or replaced before the commit keeps its inode in
// the trash directory until then, so that undoing restores it with its
// durable content.
//
// This is stricter than ext4 in one way (an fsync of a file does not make
// the file's own directory entry durable; POSIX asks for the directory's
// fsync) and more lenient than POSIX in another (one directory's fsync
// also commits the changes in other directories made before it). Either
// way every state it leaves after a cut is one a real filesystem can.

type entryKind int

const (
	created    entryKind = iota // path was created; undo removes it
	madeDir                     // path was made a directory; undo removes it
	unlinked                    // path was moved to trash; undo moves it back
	removedDir                  // the empty directory path was removed; undo makes it again
	renamed                     // path was renamed to to, replacing trash or dir if set
	exchanged                   // path and to were exchanged
)

type entry struct {
	kind     entryKind
	path, to string
	trash    string // the inode of a removed or replaced file, kept until commit
	dir      *dirAttr
}

// dirAttr is what is needed to make a removed empty directory again.
type dirAttr struct {
	mode     uint32
	uid, gid int
}

type journal struct {
	mu       sync.Mutex
	trashDir string
	seq      int
	entries  []entry
}

// do runs op and records the entry it returns when it succeeds, under the
// journal's lock so that entries keep the order of the changes.
func (j *journal) do(op func() (entry, error)) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	e, err := op()
	if err != nil {
		return err
	}
	j.entries = append(j.entries, e)
	return nil
}

// trashName returns a fresh name in the trash directory; the caller holds mu.
func (j *journal) trashName() string {
	j.seq++
	return filepath.Join(j.trashDir, strconv.Itoa(j.seq))
}

// unlink moves the file at path to the trash.
func (j *journal) unlink(path string) error {
	return j.do(func() (entry, error) {
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return entry{}, err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return entry{}, syscall.EISDIR
		}
		trash := j.trashName()
		if err := unix.Rename(path, trash); err != nil {
			return entry{}, err
		}
		return entry{kind: unlinked, path: path, trash: trash}, nil
	})
}

// rmdir removes the empty directory at path.
func (j *journal) rmdir(path string) error {
	return j.do(func() (entry, error) {
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return entry{}, err
		}
		if err := unix.Rmdir(path); err != nil {
			return entry{}, err
		}
		return entry{kind: removedDir, path: path, dir: &dirAttr{mode: st.Mode & 0o7777, uid: int(st.Uid), gid: int(st.Gid)}}, nil
	})
}

// rename renames from to to. A file it replaces is kept in the trash
// (linked there first, so that the rename itself stays atomic).
func (j *journal) rename(from, to string, flags uint32) error {
	return j.do(func() (entry, error) {
		switch flags {
		case unix.RENAME_EXCHANGE:
			if err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_EXCHANGE); err != nil {
				return entry{}, err
			}
			return entry{kind: exchanged, path: from, to: to}, nil
		case unix.RENAME_NOREPLACE:
			if err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE); err != nil {
				return entry{}, err
			}
			return entry{kind: renamed, path: from, to: to}, nil
		case 0:
		default:
			return entry{}, syscall.EINVAL
		}
		e := entry{kind: renamed, path: from, to: to}
		var st unix.Stat_t
		switch err := unix.Lstat(to, &st); {
		case errors.Is(err, unix.ENOENT):
		case err != nil:
			return entry{}, err
		case st.Mode&unix.S_IFMT == unix.S_IFDIR:
			e.dir = &dirAttr{mode: st.Mode & 0o7777, uid: int(st.Uid), gid: int(st.Gid)}
		default:
			e.trash = j.trashName()
			if err := unix.Link(to, e.trash); err != nil {
				return entry{}, err
			}
		}
		if err := unix.Rename(from, to); err != nil {
			if e.trash != "" {
				_ = unix.Unlink(e.trash)
			}
			return entry{}, err
		}
		return e, nil
	})
}

// undo reverts one entry; entries are undone newest first.
func (e entry) undo() error {
	switch e.kind {
	case created:
		return unix.Unlink(e.path)
	case madeDir:
		return unix.Rmdir(e.path)
	case unlinked:
		return unix.Rename(e.trash, e.path)
	case removedDir:
		return e.dir.make(e.path)
	case exchanged:
		return unix.Renameat2(unix.AT_FDCWD, e.path, unix.AT_FDCWD, e.to, unix.RENAME_EXCHANGE)
	case renamed:
		if err := unix.Rename(e.to, e.path); err != nil {
			return err
		}
		switch {
		case e.trash != "":
			return unix.Rename(e.trash, e.to)
		case e.dir != nil:
			return e.dir.make(e.to)
		}
		return nil
	}
	return fmt.Errorf("unknown journal entry %d", e.kind)
}

func (d *dirAttr) make(path string) error {
	if err := unix.Mkdir(path, d.mode); err != nil {
		return err
	}
	if err := unix.Chmod(path, d.mode); err != nil { // not reduced by the umask
		return err
	}
	return unix.Lchown(path, d.uid, d.gid)
}

// commit makes every recorded change durable: the trash is emptied.
func (j *journal) commit() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	var errs []error
	for _, e := range j.entries {
		if e.trash != "" {
			if err := os.Remove(e.trash); err != nil {
				errs = append(errs, err)
			}
		}
	}
	j.entries = nil
	return errors.Join(errs...)
}

// rollback undoes every uncommitted change, newest first, and returns how
// many there were.
func (j *journal) rollback() (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var errs []error
	for i := len(j.entries) - 1; i >= 0; i-- {
		if err := j.entries[i].undo(); err != nil {
			errs = append(errs, fmt.Errorf("undo %v of %s: %w", j.entries[i].kind, j.entries[i].path, err))
		}
	}
	n := len(j.entries)
	j.entries = nil
	return n, errors.Join(errs...)
}
