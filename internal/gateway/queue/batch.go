// Package queue is ingestd's durable local queue: batches accepted from
// devices are fsynced here before the 202, and leave only after an upstream
// acknowledged them.
package queue

import (
	"errors"
	"fmt"
	"time"
)

// Batch is one accepted ingest request, normalised to NDJSON.
type Batch struct {
	// ID is unique and sortable by arrival (ULID-like), assigned by the server.
	ID string `json:"id"`
	// Device is the authenticated device id ("anonymous" when auth is none).
	Device string `json:"device"`
	// Records is the number of JSON records in Body.
	Records int `json:"records"`
	// Body holds the records as NDJSON, one compact JSON value per line.
	Body []byte `json:"body"`
	// ReceivedAt is when the server accepted the batch.
	ReceivedAt time.Time `json:"received_at"`
}

// ErrFull is returned by Append when the batch would exceed the byte bound.
// Nothing was stored; the client should retry later (507 + Retry-After).
var ErrFull = errors.New("queue is full")

// ErrNoSpace is wrapped by the errors of writes that failed because the
// store's filesystem is full. It wraps ErrFull: the client should retry
// later (507 + Retry-After), and nothing was stored.
var ErrNoSpace = fmt.Errorf("no space left on the store's filesystem: %w", ErrFull)

// ErrClosed is returned after Close.
var ErrClosed = errors.New("queue is closed")
