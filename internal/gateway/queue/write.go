package queue

// The write API: Append and Ack hand operations to the committer
// (commit.go) and wait for the commit that holds them.

import (
	"bytes"
	"context"
	"fmt"
	"slices"
)

// Append stores b durably. It returns nil only after the transaction that
// holds b is committed and fsynced; concurrent callers share that commit.
// It returns ErrFull, storing nothing, when Bytes+len(b.Body) > MaxBytes.
// If ctx ends first, Append returns ctx.Err() and the batch may or may not
// be stored.
func (q *Queue) Append(ctx context.Context, b Batch) error {
	_, err := q.append(ctx, b, nil)
	return err
}

// append hands b (under key, when set) to the committer and waits for the
// commit; see Append and AppendOnce.
func (q *Queue) append(ctx context.Context, b Batch, key *keyed) (*op, error) {
	if b.ID == "" || len(b.ID) > maxIDLen {
		return nil, fmt.Errorf("append: batch id must be 1 to %d bytes (got %d)", maxIDLen, len(b.ID))
	}
	if len(b.Device) > maxDeviceLen {
		return nil, fmt.Errorf("append: device id must be at most %d bytes (got %d)", maxDeviceLen, len(b.Device))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	size := int64(len(b.Body))
	q.statMu.Lock()
	if q.broken != nil {
		err := q.broken
		q.statMu.Unlock()
		return nil, err
	}
	if q.bytes+size > q.max {
		q.statMu.Unlock()
		return nil, ErrFull
	}
	q.bytes += size
	q.statMu.Unlock()

	// The committer may still read the batch after a canceled caller has
	// returned and reused its buffer: give it its own copy.
	b.Body = bytes.Clone(b.Body)
	o := &op{batch: &b, size: size, key: key, err: make(chan error, 1)}
	if err := q.submit(ctx, o); err != nil {
		q.release(size)
		return nil, err
	}
	select {
	case err := <-o.err:
		return o, err
	case <-ctx.Done():
		// The committer still settles the byte accounting.
		return nil, ctx.Err()
	}
}

// Ack deletes the batches with the given ids; unknown ids are ignored.
func (q *Queue) Ack(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	o := &op{acks: slices.Clone(ids), err: make(chan error, 1)}
	if err := q.submit(ctx, o); err != nil {
		return err
	}
	select {
	case err := <-o.err:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (q *Queue) submit(ctx context.Context, o *op) error {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return ErrClosed
	}
	select {
	case q.ops <- o:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (q *Queue) release(size int64) {
	q.statMu.Lock()
	q.bytes -= size
	q.statMu.Unlock()
}
