//go:build hardgate_ack_before_fsync

package queue

// In this deliberately broken build (go build -tags
// hardgate_ack_before_fsync) the syncer answers commits without syncing
// the WAL: SQLite's synchronous=NORMAL syncs the WAL only at the next
// checkpoint, so ingestd acknowledges batches that a power cut loses,
// while kill -9 loses nothing. Only the power-loss test in cmd/ingestd
// builds it, to show that the test catches such a build. Never ship it.
const synchronous = "NORMAL"

// syncWAL is off: commits are answered before their WAL frames are synced.
const syncWAL = false
