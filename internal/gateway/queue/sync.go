package queue

// The syncer: the second stage of the pipelined group commit. The
// committer (commit.go) runs a group's transaction with SQLite's
// synchronous=NORMAL, which writes the WAL frames and the commit frame
// but does not fsync them, and hands the group here; the syncer fdatasyncs
// the WAL and only then answers every operation of every group committed
// before that fdatasync began. While it waits on the disk, the committer
// already runs the next group's transaction: the two overlap.
//
// Why this is as durable as synchronous=FULL: FULL makes SQLite fsync the
// WAL at the end of each commit and nothing else; NORMAL skips exactly
// that sync and keeps every other (the WAL header when the log restarts,
// which also syncs the directory of a new WAL file, and both syncs of a
// checkpoint, before it copies frames into the database file and after).
// The syncer restores the skipped one, on the same file, before any caller
// hears of its commit. A frame is in the WAL's page cache when its pwrite
// returns, and an fdatasync started afterwards covers it (on Linux, fsync
// of any descriptor of an inode flushes all of its dirty pages). After a
// power cut, SQLite's recovery keeps the WAL up to the last valid commit
// frame, and every acknowledged commit ends before that frame.
//
// An fdatasync that fails leaves the frames of the commits before it in an
// unknown state (the kernel may have dropped the pages it could not
// write), while later commits append after them. The queue then fails
// every further write (ErrSyncFailed) until it is reopened, when SQLite
// recovers from what the disk really holds.

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// ErrSyncFailed is wrapped by every write after an fdatasync of the store's
// WAL failed: the queue stops accepting writes until it is reopened
// (restart ingestd), because what the disk holds is no longer known.
var ErrSyncFailed = errors.New("the store's write-ahead log could not be synced; restart to recover")

// committed is a group whose transaction committed and awaits its sync.
type committed struct {
	ops     []*op
	results []error       // per operation
	added   int           // batches inserted
	bytes   int64         // appended body bytes
	txn     time.Duration // BEGIN to COMMIT
	at      time.Time     // when COMMIT returned
}

// CommitInfo describes one group commit, for metrics (Options.OnCommit).
type CommitInfo struct {
	// Ops is the number of operations in the transaction (appends, acks).
	Ops int
	// Bytes is the sum of the appended bodies.
	Bytes int64
	// Transaction is how long the transaction took, BEGIN to COMMIT
	// (without the WAL sync).
	Transaction time.Duration
	// Wait is how long its operations waited from the commit to the end of
	// the WAL sync that made it durable.
	Wait time.Duration
	// Sync is how long that WAL sync took; one sync may make several
	// groups durable.
	Sync time.Duration
}

// openWAL opens the store's WAL file, which SQLite created when it opened
// the database in WAL mode, for the syncer. SQLite deletes that file only
// when its last connection closes, and the committer holds one until
// Close, so the descriptor names the live WAL for the queue's lifetime.
// The directory is fsynced too, so that the WAL's entry is durable from
// the start.
func openWAL(path, dir string) (*os.File, error) {
	f, err := os.OpenFile(path+"-wal", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open queue %s: write-ahead log: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open queue %s: %w", path, err)
	}
	return f, nil
}

// syncLoop answers the committed groups once the WAL holding them is
// synced. It takes every group waiting at that moment, so that one sync
// serves them all.
func (q *Queue) syncLoop() {
	defer close(q.done)
	var batch []*committed
	for c := range q.committed {
		batch = append(batch[:0], c)
	drain:
		for {
			select {
			case c, ok := <-q.committed:
				if !ok {
					break drain
				}
				batch = append(batch, c)
			default:
				break drain
			}
		}
		q.syncGroups(batch)
	}
}

// syncGroups syncs the WAL once and answers the groups in batch.
func (q *Queue) syncGroups(batch []*committed) {
	start := time.Now()
	err := q.syncWAL()
	end := time.Now()
	if err != nil {
		q.log.Error("queue: syncing the write-ahead log failed; refusing writes until restart", "file", q.path, "err", err)
		err = fmt.Errorf("sync %s-wal: %w: %w", q.path, ErrSyncFailed, noSpace(err))
		q.statMu.Lock()
		q.broken = err
		q.lastErr, q.lastErrAt = err, end
		q.statMu.Unlock()
	}
	added := 0
	for _, c := range batch {
		if q.onCommit != nil {
			q.onCommit(CommitInfo{Ops: len(c.ops), Bytes: c.bytes, Transaction: c.txn, Wait: end.Sub(c.at), Sync: end.Sub(start)})
		}
		for i, o := range c.ops {
			if err != nil {
				o.err <- err
			} else {
				o.err <- c.results[i]
			}
		}
		added += c.added
	}
	if err == nil && added > 0 {
		q.signal()
	}
	if q.inflight.Add(-int64(len(batch))) == 0 {
		select {
		case q.syncIdle <- struct{}{}:
		default:
		}
	}
}

// syncWAL makes the WAL's written frames durable (syncFn in tests).
func (q *Queue) syncWAL() error {
	if q.syncFn != nil {
		return q.syncFn()
	}
	if !syncWAL {
		return nil
	}
	return fdatasync(q.wal)
}
