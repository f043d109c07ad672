package queue

// The read API: the oldest batches, in id order, straight from the
// database through the readers' connection pool.

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Peek returns up to max of the oldest batches (in id order) without
// removing them. No production path calls it (the dispatcher uses
// PeekExcept), so deadcode without -test lists it: it is the read with
// which tests and tools inspect a store, such as the crash tests that
// look for every acknowledged batch after a restart.
func (q *Queue) Peek(ctx context.Context, max int) ([]Batch, error) {
	return q.PeekExcept(ctx, max, nil)
}

// PeekExcept is Peek that passes over the batches whose ids are in skip
// (those a dispatcher is already delivering): it returns up to max of the
// oldest other batches, in id order, and reads no body of a skipped one.
func (q *Queue) PeekExcept(ctx context.Context, max int, skip map[string]struct{}) ([]Batch, error) {
	if max <= 0 {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return nil, ErrClosed
	}
	if len(skip) == 0 {
		return q.scan(ctx, "SELECT id, device, records, received_at, body FROM batches ORDER BY id LIMIT ?", max)
	}
	ids, err := q.oldestIDs(ctx, max+len(skip))
	if err != nil {
		return nil, err
	}
	args := make([]any, 0, max)
	for _, id := range ids {
		if _, busy := skip[id]; !busy && len(args) < max {
			args = append(args, id)
		}
	}
	if len(args) == 0 {
		return nil, nil
	}
	query := "SELECT id, device, records, received_at, body FROM batches WHERE id IN (?" +
		strings.Repeat(",?", len(args)-1) + ") ORDER BY id"
	return q.scan(ctx, query, args...)
}

// oldestIDs returns the ids of the n oldest batches.
func (q *Queue) oldestIDs(ctx context.Context, n int) ([]string, error) {
	rows, err := q.db.QueryContext(ctx, "SELECT id FROM batches ORDER BY id LIMIT ?", n)
	if err != nil {
		return nil, fmt.Errorf("peek %s: %w", q.path, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("peek %s: %w", q.path, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("peek %s: %w", q.path, err)
	}
	return ids, nil
}

// scan runs a batch query (id, device, records, received_at, body).
func (q *Queue) scan(ctx context.Context, query string, args ...any) ([]Batch, error) {
	rows, err := q.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("peek %s: %w", q.path, err)
	}
	defer rows.Close()
	var out []Batch
	for rows.Next() {
		var b Batch
		var nanos int64
		if err := rows.Scan(&b.ID, &b.Device, &b.Records, &nanos, &b.Body); err != nil {
			return nil, fmt.Errorf("peek %s: %w", q.path, err)
		}
		if nanos != 0 {
			b.ReceivedAt = time.Unix(0, nanos).UTC()
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("peek %s: %w", q.path, err)
	}
	return out, nil
}
