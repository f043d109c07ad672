//go:build !hardgate_ack_before_fsync

package queue

// synchronous is the store's PRAGMA synchronous: FULL, so that a commit
// returns only after its WAL frames are fsynced.
const synchronous = "FULL"
