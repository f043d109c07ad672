//go:build !hardgate_ack_before_fsync

package queue

// synchronous is the store's PRAGMA synchronous. NORMAL in WAL mode syncs
// everything FULL does except the WAL at the end of each commit; the
// syncer (sync.go) makes that sync itself, off the committer, before any
// operation of the commit is answered (syncWAL).
const synchronous = "NORMAL"

// syncWAL makes the syncer fdatasync the WAL before it answers a commit.
const syncWAL = true
