package queue

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// maxIDLen bounds the id of a stored batch.
const maxIDLen = 128

// maxDeviceLen bounds the device id stored with a batch.
const maxDeviceLen = 1024

// maxGroup bounds how many operations share one commit.
const maxGroup = 1024

// maxGroupBytes bounds the body bytes of one commit, so that a burst of
// large batches is committed (and its WAL frames synced) in several
// pipelined groups rather than in one long transaction; a single larger
// batch still goes alone.
const maxGroupBytes = 4 << 20

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
	// KeyRetention is how long an idempotency key answers with its first
	// batch (AppendOnce); zero is DefaultKeyRetention.
	KeyRetention time.Duration
	// Logger receives store events; nil discards them.
	Logger *slog.Logger
	// WaitLimit, when positive, bounds how long Append and AppendOnce wait
	// for the commit of their batch, besides their context: past it they
	// return an error wrapping context.DeadlineExceeded, and the batch may
	// or may not be stored. A queue-wide bound costs a request no context
	// of its own.
	WaitLimit time.Duration
	// OnCommit, when set, is called by the syncer for each group commit
	// once it is durable, before its operations are answered. It must not
	// block.
	OnCommit func(CommitInfo)
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
// into a single transaction, without an artificial delay, and one syncer
// goroutine that syncs the WAL once for every transaction committed while
// it last waited on the disk (a pipelined group commit, sync.go): callers
// share transactions and syncs, and the next transaction runs while the
// last one is being synced.
type Queue struct {
	db    *sql.DB   // readers
	wconn *sql.Conn // the committer's connection
	wal   *os.File  // the WAL, which the syncer syncs
	lock  *os.File
	// inserts[n] inserts n rows (1 to maxChunk); only the committer uses it.
	inserts [maxChunk + 1]*sql.Stmt
	remove  *sql.Stmt
	begin   *sql.Stmt // BEGIN IMMEDIATE
	end     *sql.Stmt // COMMIT
	// findKey, putKey and pruneKey read, write and expire idempotency keys.
	findKey, putKey, pruneKey *sql.Stmt
	keyRetention              time.Duration
	lastPrune                 time.Time // only the committer uses it
	path                      string
	max                       int64
	log                       *slog.Logger
	notify                    chan struct{}
	ops                       chan *op
	committed                 chan *committed // committer -> syncer
	inflight                  atomic.Int64    // groups handed to the syncer, not answered yet
	syncIdle                  chan struct{}   // the syncer answered every group it had
	done                      chan struct{}   // closed when the syncer has answered everything
	maxGroupBytes             int64
	onCommit                  func(CommitInfo)
	waitLimit                 time.Duration
	syncFn                    func() error // tests: replaces the WAL sync

	// mu guards closed against Close; senders on ops hold it for reading.
	mu     sync.RWMutex
	closed bool

	statMu    sync.Mutex
	batches   int
	bytes     int64     // committed plus reserved by appends in flight
	lastErr   error     // error of the last commit, nil after a successful one
	lastErrAt time.Time // when it failed
	broken    error     // a WAL sync failed: every later write fails (ErrSyncFailed)

	commits atomic.Int64 // transactions committed, for benchmarks
}

// op is one write handed to the committer: an append (batch set, with an
// idempotency key or not), an ack (acks set) or a probe.
type op struct {
	b     Batch  // an append's batch (batch points here)
	batch *Batch // an append
	size  int64  // append: body bytes reserved
	key   *keyed // an append under an idempotency key
	acks  []string
	probe bool       // a write that changes nothing (Writable)
	err   chan error // buffered: the committer never blocks on a caller

	// stored is set by the committer when the key already holds a batch:
	// that batch answers, and nothing is stored.
	stored *Stored
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
		lock:          lock,
		path:          path,
		max:           opts.MaxBytes,
		keyRetention:  cmp.Or(opts.KeyRetention, DefaultKeyRetention),
		log:           logger,
		notify:        make(chan struct{}, 1),
		ops:           make(chan *op, maxGroup),
		committed:     make(chan *committed, 64),
		syncIdle:      make(chan struct{}, 1),
		done:          make(chan struct{}),
		maxGroupBytes: maxGroupBytes,
		onCommit:      opts.OnCommit,
		waitLimit:     opts.WaitLimit,
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
	go q.syncLoop()
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
	for _, st := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&q.findKey, "SELECT batch_id, records, body_hash, created_at FROM idempotency WHERE device = ? AND key = ?"},
		{&q.putKey, "INSERT INTO idempotency (device, key, batch_id, records, body_hash, created_at) VALUES (?, ?, ?, ?, ?, ?) " +
			"ON CONFLICT (device, key) DO UPDATE SET batch_id = excluded.batch_id, records = excluded.records, " +
			"body_hash = excluded.body_hash, created_at = excluded.created_at"},
		{&q.pruneKey, "DELETE FROM idempotency WHERE created_at < ?"},
	} {
		if *st.stmt, err = conn.PrepareContext(ctx, st.query); err != nil {
			return classify(q.path, err)
		}
	}
	if err := conn.QueryRowContext(ctx, "SELECT count(*), coalesce(sum(length(body)), 0) FROM batches").Scan(&q.batches, &q.bytes); err != nil {
		return classify(q.path, err)
	}
	if q.wal, err = openWAL(q.path, filepath.Dir(q.path)); err != nil {
		return err
	}
	return nil
}

// closeStore releases whatever open acquired.
func (q *Queue) closeStore() error {
	var errs []error
	stmts := append([]*sql.Stmt{q.remove, q.begin, q.end, q.findKey, q.putKey, q.pruneKey}, q.inserts[:]...)
	for _, s := range stmts {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	if q.wal != nil {
		errs = append(errs, q.wal.Close())
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

// probeEvery is how often Writable tries a write while the last commit
// failed.
const probeEvery = time.Second

// Writable returns nil when the store accepts writes: it is open and its
// last commit succeeded. While the last commit failed, Writable tries a
// write that changes nothing (at most once every probeEvery), so that a
// store whose filesystem has room again reads as writable before the next
// batch arrives. The error wraps ErrNoSpace when the filesystem is full.
func (q *Queue) Writable() error {
	q.mu.RLock()
	closed := q.closed
	q.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	q.statMu.Lock()
	lastErr, failedAt, broken := q.lastErr, q.lastErrAt, q.broken
	q.statMu.Unlock()
	if broken != nil {
		return broken
	}
	if lastErr == nil {
		return nil
	}
	if time.Since(failedAt) >= probeEvery {
		return q.probe()
	}
	return fmt.Errorf("queue %s: last commit failed: %w", q.path, noSpace(lastErr))
}

// probe commits a write that changes nothing.
func (q *Queue) probe() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	o := &op{probe: true, err: make(chan error, 1)}
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
