package queue

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxIDLen bounds the id of a stored batch.
const maxIDLen = 128

// maxDeviceLen bounds the device id stored with a batch.
const maxDeviceLen = 1024

// maxGroup bounds how many operations share one commit (one fsync).
const maxGroup = 1024

// ErrCorrupt is wrapped by Open when the store file fails its integrity
// check. The file is left untouched.
var ErrCorrupt = errors.New("queue store is corrupt")

// ErrDuplicate is returned by Append for an id that is already queued.
var ErrDuplicate = errors.New("batch id already queued")

// Options configures Open.
type Options struct {
	// Dir holds the store file; it is created with mode 0700, or made 0700
	// if it exists, and every store file in it is 0600.
	Dir string
	// MaxBytes bounds the sum of queued body bytes; Append returns ErrFull beyond.
	MaxBytes int64
	// Logger receives store events; nil discards them.
	Logger *slog.Logger
}

// Stats is a snapshot of the queue's size.
type Stats struct {
	// Batches is the number of batches stored.
	Batches int
	// Bytes is the sum of queued body bytes, including appends being committed.
	Bytes int64
	// MaxBytes is the bound from Options.
	MaxBytes int64
}

// Queue is a durable FIFO of batches in an SQLite file. All writes go through
// one committer goroutine that packs every operation waiting at that moment
// into a single transaction, so concurrent callers share one fsync (group
// commit) without an artificial delay.
type Queue struct {
	db    *sql.DB   // readers
	wconn *sql.Conn // the committer's connection
	lock  *os.File
	// inserts[n] inserts n rows (1 to maxChunk); only the committer uses it.
	inserts [maxChunk + 1]*sql.Stmt
	remove  *sql.Stmt
	begin   *sql.Stmt // BEGIN IMMEDIATE
	end     *sql.Stmt // COMMIT
	path    string
	max     int64
	log     *slog.Logger
	notify  chan struct{}
	ops     chan *op
	done    chan struct{}

	// mu guards closed against Close; senders on ops hold it for reading.
	mu     sync.RWMutex
	closed bool

	statMu  sync.Mutex
	batches int
	bytes   int64 // committed plus reserved by appends in flight
	lastErr error // error of the last commit, nil after a successful one

	commits atomic.Int64 // transactions committed, for benchmarks
}

// op is one write handed to the committer.
type op struct {
	batch *Batch // an append, or nil for an ack
	size  int64  // append: body bytes reserved
	acks  []string
	err   chan error // buffered: the committer never blocks on a caller
}

// Open opens (or creates) the store in opts.Dir and checks its integrity.
// A store that fails the check is not repaired or reset: Open returns an
// error wrapping ErrCorrupt that names the file. A store already open in
// another process is refused.
func Open(opts Options) (*Queue, error) {
	if opts.Dir == "" {
		return nil, errors.New("open queue: store directory is empty")
	}
	if opts.MaxBytes <= 0 {
		return nil, fmt.Errorf("open queue: max bytes must be positive (got %d)", opts.MaxBytes)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := secureDir(opts.Dir); err != nil {
		return nil, fmt.Errorf("open queue: %w", err)
	}
	lock, err := lockStore(opts.Dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(opts.Dir, FileName)
	_, statErr := os.Stat(path)
	if err := secureFiles(opts.Dir); err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("open queue: %w", err)
	}
	q := &Queue{
		lock:   lock,
		path:   path,
		max:    opts.MaxBytes,
		log:    logger,
		notify: make(chan struct{}, 1),
		ops:    make(chan *op, maxGroup),
		done:   make(chan struct{}),
	}
	if err := q.open(); err != nil {
		q.closeStore()
		return nil, err
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// Make the new file's directory entry durable too.
		if err := syncDir(opts.Dir); err != nil {
			q.closeStore()
			return nil, fmt.Errorf("open queue: %w", err)
		}
	}
	go q.commitLoop()
	logger.Info("queue opened", "file", path, "batches", q.batches, "bytes", q.bytes, "max_bytes", q.max)
	if q.batches > 0 {
		q.signal()
	}
	return q, nil
}

// open checks the file before anything writes to it, then prepares the
// schema, the committer's statements and the counters.
func (q *Queue) open() error {
	ctx := context.Background()
	db, conn, err := openDB(ctx, q.path)
	if err != nil {
		return err
	}
	q.db, q.wconn = db, conn
	if err := checkIntegrity(ctx, conn, q.path); err != nil {
		return err
	}
	if err := prepareSchema(ctx, conn, q.path); err != nil {
		return err
	}
	if _, err := q.insertStmt(ctx, 1); err != nil {
		return classify(q.path, err)
	}
	if q.remove, err = conn.PrepareContext(ctx, "DELETE FROM batches WHERE id = ? RETURNING length(body)"); err != nil {
		return classify(q.path, err)
	}
	if q.begin, err = conn.PrepareContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return classify(q.path, err)
	}
	if q.end, err = conn.PrepareContext(ctx, "COMMIT"); err != nil {
		return classify(q.path, err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT count(*), coalesce(sum(length(body)), 0) FROM batches").Scan(&q.batches, &q.bytes); err != nil {
		return classify(q.path, err)
	}
	return nil
}

// closeStore releases whatever open acquired.
func (q *Queue) closeStore() error {
	var errs []error
	stmts := append([]*sql.Stmt{q.remove, q.begin, q.end}, q.inserts[:]...)
	for _, s := range stmts {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	if q.wconn != nil {
		errs = append(errs, q.wconn.Close())
	}
	if q.db != nil {
		// The last connection to close checkpoints the WAL into the file.
		errs = append(errs, q.db.Close())
	}
	if q.lock != nil {
		errs = append(errs, q.lock.Close()) // releases the flock
	}
	return errors.Join(errs...)
}

// Append stores b durably. It returns nil only after the transaction that
// holds b is committed and fsynced; concurrent callers share that commit.
// It returns ErrFull, storing nothing, when Bytes+len(b.Body) > MaxBytes.
// If ctx ends first, Append returns ctx.Err() and the batch may or may not
// be stored.
func (q *Queue) Append(ctx context.Context, b Batch) error {
	if b.ID == "" || len(b.ID) > maxIDLen {
		return fmt.Errorf("append: batch id must be 1 to %d bytes (got %d)", maxIDLen, len(b.ID))
	}
	if len(b.Device) > maxDeviceLen {
		return fmt.Errorf("append: device id must be at most %d bytes (got %d)", maxDeviceLen, len(b.Device))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	size := int64(len(b.Body))
	q.statMu.Lock()
	if q.bytes+size > q.max {
		q.statMu.Unlock()
		return ErrFull
	}
	q.bytes += size
	q.statMu.Unlock()

	// The committer may still read the batch after a canceled caller has
	// returned and reused its buffer: give it its own copy.
	b.Body = bytes.Clone(b.Body)
	o := &op{batch: &b, size: size, err: make(chan error, 1)}
	if err := q.submit(ctx, o); err != nil {
		q.release(size)
		return err
	}
	select {
	case err := <-o.err:
		return err
	case <-ctx.Done():
		// The committer still settles the byte accounting.
		return ctx.Err()
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

// Peek returns up to max of the oldest batches (in id order) without
// removing them.
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

// Notify returns a channel that receives a value after batches were
// appended. Signals are coalesced: one receive may stand for many appends.
// The channel is closed by Close.
func (q *Queue) Notify() <-chan struct{} { return q.notify }

func (q *Queue) signal() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// Stats returns the current size of the queue.
func (q *Queue) Stats() Stats {
	q.statMu.Lock()
	defer q.statMu.Unlock()
	return Stats{Batches: q.batches, Bytes: q.bytes, MaxBytes: q.max}
}

// Writable returns nil when the store accepts writes: it is open and its
// last commit succeeded.
func (q *Queue) Writable() error {
	q.mu.RLock()
	closed := q.closed
	q.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	q.statMu.Lock()
	defer q.statMu.Unlock()
	if q.lastErr != nil {
		return fmt.Errorf("queue %s: last commit failed: %w", q.path, q.lastErr)
	}
	return nil
}

// Path returns the store file.
func (q *Queue) Path() string { return q.path }

// Close waits for pending writes to commit and closes the store. Later
// calls return ErrClosed.
func (q *Queue) Close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	q.closed = true
	close(q.ops)
	q.mu.Unlock()
	<-q.done
	close(q.notify) // wakes waiters; they see ErrClosed on their next call
	if err := q.closeStore(); err != nil {
		return fmt.Errorf("close queue %s: %w", q.path, err)
	}
	return nil
}

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
