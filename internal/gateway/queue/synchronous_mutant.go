//go:build hardgate_ack_before_fsync

package queue

// synchronous, in this deliberately broken build (go build -tags
// hardgate_ack_before_fsync), is NORMAL: in WAL mode a commit then returns
// before its frames are fsynced (they are synced only at the next
// checkpoint), so ingestd acknowledges batches that a power cut loses,
// while kill -9 loses nothing. Only the power-loss test in cmd/ingestd
// builds it, to show that the test catches such a build. Never ship it.
const synchronous = "NORMAL"
