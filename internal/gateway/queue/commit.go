package queue

// The committer's transaction: one group of operations (group.go) in one
// SQLite transaction, handed to the syncer (sync.go) once committed.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"modernc.org/sqlite"
)

// commit applies a group in one transaction and hands it to the syncer. A
// failed transaction fails every operation in it at once; a duplicate id
// fails only its own append. A transaction that fails because the store's
// filesystem is full fails with an error wrapping ErrNoSpace. After a
// failed WAL sync nothing is committed any more (ErrSyncFailed).
func (q *Queue) commit(group []*op) {
	q.statMu.Lock()
	broken := q.broken
	q.statMu.Unlock()
	if broken != nil {
		q.settle(group, nil, broken)
		q.answer(group, broken)
		return
	}
	start := time.Now()
	t := q.apply(group)
	end := time.Now()
	err := t.err
	q.settle(group, t, err)
	if err != nil {
		q.log.Error("queue commit failed", "file", q.path, "ops", len(group), "err", err)
		q.answer(group, fmt.Errorf("commit %s: %w", q.path, noSpace(err)))
		return
	}
	q.committed <- &committed{ops: group, results: t.results, added: t.added, bytes: t.bytes, txn: end.Sub(start), at: end}
}

// answer fails a group that was not committed, which the syncer never
// sees.
func (q *Queue) answer(group []*op, err error) {
	for _, o := range group {
		o.err <- err
	}
	q.inflight.Add(-1)
}

// settle updates the counters after a group's transaction (t is nil when
// it did not run).
func (q *Queue) settle(group []*op, t *txn, err error) {
	q.statMu.Lock()
	defer q.statMu.Unlock()
	q.lastErr = err
	if err != nil {
		q.lastErrAt = time.Now()
	}
	for i, o := range group {
		if o.batch != nil && (err != nil || t.results[i] != nil || o.stored != nil) {
			q.bytes -= o.size // not stored: refused, or the key's first batch answered
		}
	}
	if err == nil {
		q.batches += t.added - t.ackedCount
		q.bytes -= t.ackedBytes
	}
}

// sqliteFull is SQLite's primary result code for "database or disk is full".
const sqliteFull = 13

// noSpace wraps ErrNoSpace around err when the filesystem is full.
func noSpace(err error) error {
	var se *sqlite.Error
	if errors.Is(err, syscall.ENOSPC) || (errors.As(err, &se) && se.Code()&0xff == sqliteFull) {
		return fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return err
}

// txn is one transaction of the committer: a group's operations in order,
// and what they changed.
type txn struct {
	q       *Queue
	ctx     context.Context
	multi   bool     // insert appends in multi-row chunks
	pending []*Batch // appends not inserted yet (multi)
	results []error  // per operation
	err     error    // the transaction's own failure

	added, ackedCount int
	ackedBytes        int64
	bytes             int64 // body bytes inserted
}

// apply runs the group in one transaction on the committer's connection;
// COMMIT writes the WAL frames and the syncer syncs them (sync.go). BEGIN and COMMIT are
// statements prepared once on that connection, like the inserts and the
// delete, so a commit parses no SQL (database/sql's Tx.Stmt would prepare
// them again for every transaction).
//
// Appends are inserted up to maxChunk rows per statement. When such an
// insert stores fewer rows than it carries, some id was a duplicate: the
// transaction is rolled back and the group applied again one row at a time,
// which tells each duplicate append apart.
func (q *Queue) apply(group []*op) *txn {
	t := &txn{q: q, ctx: context.Background(), multi: true, results: make([]error, len(group))}
	if t.err = t.run(group); errors.Is(t.err, errRowByRow) {
		for _, o := range group {
			o.stored = nil
		}
		t = &txn{q: q, ctx: context.Background(), results: make([]error, len(group))}
		t.err = t.run(group)
	}
	return t
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

// run applies the operations in order (pending appends are inserted
// before an ack, a keyed append or a probe runs) and commits.
func (t *txn) run(group []*op) (err error) {
	q := t.q
	if _, err := q.begin.ExecContext(t.ctx); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// After a failed COMMIT SQLite may have rolled back already.
			_, _ = q.wconn.ExecContext(t.ctx, "ROLLBACK")
		}
	}()
	for i, o := range group {
		switch {
		case o.batch != nil && o.key == nil && t.multi:
			t.pending = append(t.pending, o.batch)
			continue
		case o.batch != nil && o.key == nil:
			err = t.insertOne(i, o.batch)
		default:
			if err = t.flush(); err == nil {
				err = t.applyOne(i, o)
			}
		}
		if err != nil {
			return err
		}
	}
	if err := t.flush(); err != nil {
		return err
	}
	if err := t.pruneKeys(time.Now()); err != nil {
		return err
	}
	if _, err := q.end.ExecContext(t.ctx); err != nil {
		return err
	}
	q.commits.Add(1)
	return nil
}

// applyOne runs an operation that cannot wait in pending: an ack, a keyed
// append or a probe.
func (t *txn) applyOne(i int, o *op) error {
	switch {
	case o.probe:
		// A real write (page 1 of the file) that changes nothing: it fails
		// like any commit while the filesystem is full.
		_, err := t.q.wconn.ExecContext(t.ctx, fmt.Sprintf("PRAGMA user_version=%d", formatVersion))
		return err
	case o.key != nil:
		return t.appendOnce(i, o)
	default:
		return t.ack(o.acks)
	}
}

// flush inserts the pending appends in chunks.
func (t *txn) flush() error {
	for len(t.pending) > 0 {
		n := chunkLen(t.pending)
		if err := t.q.insertChunk(t.ctx, t.pending[:n]); err != nil {
			return err
		}
		t.added += n
		for _, b := range t.pending[:n] {
			t.bytes += int64(len(b.Body))
		}
		t.pending = t.pending[n:]
	}
	return nil
}

// insertOne inserts b alone; a duplicate id fails only operation i.
func (t *txn) insertOne(i int, b *Batch) error {
	stmt, err := t.q.insertStmt(t.ctx, 1)
	if err != nil {
		return err
	}
	res, err := stmt.ExecContext(t.ctx, insertArgs(nil, b)...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		t.results[i] = fmt.Errorf("append %q: %w", b.ID, ErrDuplicate)
		return nil
	}
	t.added++
	t.bytes += int64(len(b.Body))
	return nil
}

// ack deletes the batches with the given ids; unknown ids are a no-op.
func (t *txn) ack(ids []string) error {
	for _, id := range ids {
		var n int64
		switch err := t.q.remove.QueryRowContext(t.ctx, id).Scan(&n); {
		case errors.Is(err, sql.ErrNoRows):
			// unknown or already acknowledged
		case err != nil:
			return err
		default:
			t.ackedBytes += n
			t.ackedCount++
		}
	}
	return nil
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
