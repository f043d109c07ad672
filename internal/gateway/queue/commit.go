package queue

// The committer: the single writer that packs every waiting operation
// into one transaction and one fsync (group commit).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// commitLoop is the single writer: it takes the first waiting operation,
// drains whatever else is already waiting, and commits them together.
func (q *Queue) commitLoop() {
	defer close(q.done)
	group := make([]*op, 0, maxGroup)
	for first := range q.ops {
		group = append(group[:0], first)
	drain:
		for len(group) < maxGroup {
			select {
			case o, ok := <-q.ops:
				if !ok {
					break drain
				}
				group = append(group, o)
			default:
				break drain
			}
		}
		q.commit(group)
	}
}

// commit applies a group in one transaction. A failed transaction fails
// every operation in it; a duplicate id fails only its own append.
func (q *Queue) commit(group []*op) {
	results := make([]error, len(group))
	added, ackedCount, ackedBytes, err := q.apply(group, results)
	q.statMu.Lock()
	q.lastErr = err
	for i, o := range group {
		if o.batch != nil && (err != nil || results[i] != nil) {
			q.bytes -= o.size
		}
	}
	if err == nil {
		q.batches += added - ackedCount
		q.bytes -= ackedBytes
	}
	q.statMu.Unlock()
	if err != nil {
		q.log.Error("queue commit failed", "file", q.path, "ops", len(group), "err", err)
		err = fmt.Errorf("commit %s: %w", q.path, err)
	}
	for i, o := range group {
		if err != nil {
			o.err <- err
		} else {
			o.err <- results[i]
		}
	}
	if err == nil && added > 0 {
		q.signal()
	}
}

// apply runs one transaction on the committer's connection; COMMIT fsyncs
// the WAL (synchronous=FULL). BEGIN and COMMIT are statements prepared once
// on that connection, like the inserts and the delete, so a commit parses no
// SQL (database/sql's Tx.Stmt would prepare them again for every
// transaction).
//
// Appends are inserted up to maxChunk rows per statement. When such an
// insert stores fewer rows than it carries, some id was a duplicate: the
// transaction is rolled back and the group applied again one row at a time,
// which tells each duplicate append apart.
func (q *Queue) apply(group []*op, results []error) (added, ackedCount int, ackedBytes int64, err error) {
	added, ackedCount, ackedBytes, err = q.applyTx(group, results, true)
	if errors.Is(err, errRowByRow) {
		clear(results)
		return q.applyTx(group, results, false)
	}
	return added, ackedCount, ackedBytes, err
}

// maxChunk is the most appends one INSERT statement carries.
const maxChunk = 32

// maxChunkBytes bounds the body bytes one INSERT statement binds (the
// driver copies them), so that a group of large batches does not need a
// large transient copy; a single larger batch still goes alone.
const maxChunkBytes = 256 << 10

// chunkLen is how many of pending (not empty) the next INSERT carries.
func chunkLen(pending []*Batch) int {
	n, size := 0, 0
	for n < len(pending) && n < maxChunk {
		size += len(pending[n].Body)
		if n > 0 && size > maxChunkBytes {
			break
		}
		n++
	}
	return n
}

// errRowByRow reports a multi-row insert that stored fewer rows than it
// carried; apply then retries its group one row at a time.
var errRowByRow = errors.New("queue: duplicate id in a multi-row insert")

// applyTx runs the group in one transaction, inserting appends in chunks
// when multi is set and one by one otherwise. Operations keep their order:
// pending appends are inserted before an ack runs.
func (q *Queue) applyTx(group []*op, results []error, multi bool) (added, ackedCount int, ackedBytes int64, err error) {
	ctx := context.Background()
	if _, err := q.begin.ExecContext(ctx); err != nil {
		return 0, 0, 0, err
	}
	defer func() {
		if err != nil {
			// After a failed COMMIT SQLite may have rolled back already.
			_, _ = q.wconn.ExecContext(ctx, "ROLLBACK")
		}
	}()
	var pending []*Batch
	flush := func() error {
		for len(pending) > 0 {
			n := chunkLen(pending)
			if err := q.insertChunk(ctx, pending[:n]); err != nil {
				return err
			}
			added += n
			pending = pending[n:]
		}
		return nil
	}
	for i, o := range group {
		if b := o.batch; b != nil {
			if multi {
				pending = append(pending, b)
				continue
			}
			stmt, err := q.insertStmt(ctx, 1)
			if err != nil {
				return 0, 0, 0, err
			}
			res, err := stmt.ExecContext(ctx, insertArgs(nil, b)...)
			if err != nil {
				return 0, 0, 0, err
			}
			if n, err := res.RowsAffected(); err != nil {
				return 0, 0, 0, err
			} else if n == 0 {
				results[i] = fmt.Errorf("append %q: %w", b.ID, ErrDuplicate)
				continue
			}
			added++
			continue
		}
		if err := flush(); err != nil {
			return 0, 0, 0, err
		}
		for _, id := range o.acks {
			var n int64
			switch err := q.remove.QueryRowContext(ctx, id).Scan(&n); {
			case errors.Is(err, sql.ErrNoRows):
				// unknown or already acknowledged: a no-op
			case err != nil:
				return 0, 0, 0, err
			default:
				ackedBytes += n
				ackedCount++
			}
		}
	}
	if err := flush(); err != nil {
		return 0, 0, 0, err
	}
	if _, err := q.end.ExecContext(ctx); err != nil {
		return 0, 0, 0, err
	}
	q.commits.Add(1)
	return added, ackedCount, ackedBytes, nil
}

// insertChunk inserts bs with one statement; it returns errRowByRow when
// fewer rows were stored than bs holds.
func (q *Queue) insertChunk(ctx context.Context, bs []*Batch) error {
	stmt, err := q.insertStmt(ctx, len(bs))
	if err != nil {
		return err
	}
	args := make([]any, 0, 5*len(bs))
	for _, b := range bs {
		args = insertArgs(args, b)
	}
	res, err := stmt.ExecContext(ctx, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != int64(len(bs)) {
		return errRowByRow
	}
	return nil
}

// insertArgs appends the five values of b's row to args.
func insertArgs(args []any, b *Batch) []any {
	var nanos int64
	if !b.ReceivedAt.IsZero() {
		nanos = b.ReceivedAt.UnixNano()
	}
	body := b.Body
	if body == nil {
		body = []byte{}
	}
	return append(args, b.ID, b.Device, max(b.Records, 0), nanos, body)
}

// insertSQL is the insert of n rows; a duplicate id stores nothing.
func insertSQL(n int) string {
	var sb strings.Builder
	sb.WriteString("INSERT INTO batches (id, device, records, received_at, body) VALUES (?, ?, ?, ?, ?)")
	for range n - 1 {
		sb.WriteString(", (?, ?, ?, ?, ?)")
	}
	sb.WriteString(" ON CONFLICT (id) DO NOTHING")
	return sb.String()
}

// insertStmt returns the committer's prepared insert of n rows, preparing
// it on first use.
func (q *Queue) insertStmt(ctx context.Context, n int) (*sql.Stmt, error) {
	if s := q.inserts[n]; s != nil {
		return s, nil
	}
	s, err := q.wconn.PrepareContext(ctx, insertSQL(n))
	if err != nil {
		return nil, err
	}
	q.inserts[n] = s
	return s, nil
}
