package queue

// The write API: Append and Ack hand operations to the committer
// (commit.go) and wait for the commit that holds them.

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Append stores b durably. It returns nil only after the transaction that
// holds b is committed and its WAL synced; concurrent callers share both.
// It returns ErrFull, storing nothing, when Bytes+len(b.Body) > MaxBytes.
// If ctx ends first, Append returns ctx.Err() and the batch may or may not
// be stored.
//
// Append does not copy b.Body: the caller must not change it until Append
// returns, nor at all after Append returned ctx's error, since the
// committer may still read it then. After any other return the queue no
// longer refers to it.
func (q *Queue) Append(ctx context.Context, b Batch) error {
	_, err := q.append(ctx, b, nil)
	return err
}

// opPool recycles append operations and their answer channels; an
// operation whose caller gave up (ctx) is not recycled, since the
// committer still holds it.
var opPool = sync.Pool{New: func() any { return &op{err: make(chan error, 1)} }}

// append hands b (under key, when set) to the committer and waits for the
// commit; see Append and AppendOnce. It returns the batch the key already
// named, if any.
func (q *Queue) append(ctx context.Context, b Batch, key *keyed) (*Stored, error) {
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

	o := opPool.Get().(*op)
	o.b = b
	o.batch, o.size, o.key = &o.b, size, key
	if err := q.submit(ctx, o); err != nil {
		q.release(size)
		o.recycle()
		return nil, err
	}
	var limit <-chan time.Time
	if q.waitLimit > 0 {
		t := timerPool.Get().(*time.Timer)
		t.Reset(q.waitLimit)
		defer func() { t.Stop(); timerPool.Put(t) }()
		limit = t.C
	}
	select {
	case err := <-o.err:
		stored := o.stored
		o.recycle()
		return stored, err
	case <-ctx.Done():
		// The committer still settles the byte accounting.
		return nil, ctx.Err()
	case <-limit:
		return nil, fmt.Errorf("append %q: not committed within %s: %w", b.ID, q.waitLimit, context.DeadlineExceeded)
	}
}

// timerPool recycles the timers of Options.WaitLimit. A stopped timer
// delivers nothing stale after Reset (Go 1.23 timers), so one is safe to
// reuse whether it fired or not.
var timerPool = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// recycle clears an append whose answer was received and pools it.
func (o *op) recycle() {
	ch := o.err
	*o = op{err: ch}
	opPool.Put(o)
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
