package queue

// Idempotency keys: a device may name a request with a key, so that a
// retry of a request whose answer it never saw stores nothing twice. The
// key, the device, the first batch's id and records and the SHA-256 of its
// body live in the idempotency table, written in the same transaction as
// the batch, and they outlive the batch (an acknowledged batch leaves the
// queue; its key stays until the retention has passed).

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DefaultKeyRetention is how long a key answers with its first batch when
// Options.KeyRetention is zero.
const DefaultKeyRetention = 24 * time.Hour

// pruneEvery is how often the committer deletes expired keys.
const pruneEvery = time.Minute

// MaxKeyLen bounds an idempotency key.
const MaxKeyLen = 128

// ErrKeyConflict is returned by AppendOnce when the device already used the
// key, within the retention, for a different body. Nothing was stored.
var ErrKeyConflict = errors.New("idempotency key already used with a different body")

// Stored is the first batch stored under an idempotency key.
type Stored struct {
	// BatchID is the id of that batch.
	BatchID string
	// Records is the number of records in it.
	Records int
}

// keyed is the idempotency key of an append.
type keyed struct {
	key   string
	hash  [32]byte
	since int64 // Unix nanoseconds: a key created before has expired
}

const keySchema = `CREATE TABLE idempotency (
	device     TEXT    NOT NULL,
	key        TEXT    NOT NULL,
	batch_id   TEXT    NOT NULL,
	records    INTEGER NOT NULL,
	body_hash  BLOB    NOT NULL, -- SHA-256 of the batch body (NDJSON)
	created_at INTEGER NOT NULL, -- Unix nanoseconds
	PRIMARY KEY (device, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_created ON idempotency (created_at)`

// AppendOnce is Append under an idempotency key, for b.Device. When that
// device stored a batch under key less than the retention before
// b.ReceivedAt, nothing is stored: AppendOnce returns that first batch and
// true when hash (the SHA-256 of b.Body) is the same, and ErrKeyConflict
// when it differs. Otherwise b is stored and the key recorded with it, in
// the same transaction; AppendOnce returns b itself and false.
func (q *Queue) AppendOnce(ctx context.Context, b Batch, key string, hash [32]byte) (Stored, bool, error) {
	if key == "" || len(key) > MaxKeyLen {
		return Stored{}, false, fmt.Errorf("append: idempotency key must be 1 to %d bytes (got %d)", MaxKeyLen, len(key))
	}
	at := b.ReceivedAt
	if at.IsZero() {
		at = time.Now()
	}
	stored, err := q.append(ctx, b, &keyed{key: key, hash: hash, since: at.Add(-q.keyRetention).UnixNano()})
	if err != nil {
		return Stored{}, false, err
	}
	if stored != nil {
		return *stored, true, nil
	}
	return Stored{BatchID: b.ID, Records: b.Records}, false, nil
}

// appendOnce looks the key up and either answers with the batch already
// stored under it (o.stored), refuses a different body (ErrKeyConflict
// for operation i), or inserts the batch and records the key.
func (t *txn) appendOnce(i int, o *op) error {
	q, b, k := t.q, o.batch, o.key
	var (
		first   Stored
		hash    []byte
		created int64
	)
	err := q.findKey.QueryRowContext(t.ctx, b.Device, k.key).Scan(&first.BatchID, &first.Records, &hash, &created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	case created >= k.since && bytes.Equal(hash, k.hash[:]):
		o.stored = &first
		return nil
	case created >= k.since:
		t.results[i] = fmt.Errorf("append %q under key %q: %w", b.ID, k.key, ErrKeyConflict)
		return nil
	}
	// New, or expired and not pruned yet: the key now names b.
	if err := t.insertOne(i, b); err != nil || t.results[i] != nil {
		return err
	}
	at := b.ReceivedAt
	if at.IsZero() {
		at = time.Now()
	}
	_, err = q.putKey.ExecContext(t.ctx, b.Device, k.key, b.ID, max(b.Records, 0), k.hash[:], at.UnixNano())
	return err
}

// pruneKeys deletes the keys older than the retention, at most once every
// pruneEvery (only the committer calls it).
func (t *txn) pruneKeys(now time.Time) error {
	q := t.q
	if now.Sub(q.lastPrune) < pruneEvery {
		return nil
	}
	if _, err := q.pruneKey.ExecContext(t.ctx, now.Add(-q.keyRetention).UnixNano()); err != nil {
		return err
	}
	q.lastPrune = now
	return nil
}
