// Package queuebench holds the side-by-side benchmark behind the choice of
// ingestd's queue store: durable appends (fsynced before they return) with
// group commit, at 1, 8 and 50 concurrent writers, on SQLite
// (modernc.org/sqlite, WAL, synchronous=FULL) and on bbolt, printed side by
// side with ratios. See docs/queue-store.md.
//
//	go test -run '^$' -bench . -benchtime 2s ./bench/queue/
//
// The package has no code of its own; everything is in store_test.go.
package queuebench
