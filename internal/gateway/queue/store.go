package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"modernc.org/sqlite"
)

// The store is one SQLite database (modernc.org/sqlite, pure Go) in WAL
// mode with synchronous=NORMAL: a commit writes its WAL frames, and the
// syncer (sync.go) fdatasyncs them before any caller is answered, which is
// the sync synchronous=FULL would make inside the commit. docs/queue-store.md
// has the benchmark behind this choice.

// FileName is the name of the store file inside Options.Dir (SQLite adds
// FileName-wal and FileName-shm beside it while it is open).
const FileName = "queue.sqlite"

// LockName is the file that Open locks so that two processes never share a store.
const LockName = "queue.lock"

// formatVersion is the store's PRAGMA user_version: 1 held the batches,
// 2 adds the idempotency keys (a version 1 store is upgraded at Open).
const formatVersion = 2

const schema = `CREATE TABLE batches (
	id          TEXT    PRIMARY KEY NOT NULL,
	device      TEXT    NOT NULL,
	records     INTEGER NOT NULL,
	received_at INTEGER NOT NULL, -- Unix nanoseconds, 0 when unknown
	body        BLOB    NOT NULL  -- NDJSON
)`

// SQLite primary result codes that mean the file's content is damaged.
const (
	sqliteCorrupt = 11
	sqliteNotADB  = 26
)

// lockStore takes an exclusive, non-blocking flock on the store's lock file.
func lockStore(dir string) (*os.File, error) {
	path := filepath.Join(dir, LockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open queue: lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("open queue %s: the store is locked by another process (is another ingestd running?): %w", dir, err)
		}
		return nil, fmt.Errorf("open queue: lock %s: %w", path, err)
	}
	return f, nil
}

// openDB opens the database: a pool for readers and one dedicated
// connection for the committer.
func openDB(ctx context.Context, path string) (*sql.DB, *sql.Conn, error) {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(5000)&_pragma=synchronous(" + synchronous + ")&_pragma=foreign_keys(OFF)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("open queue %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	conn, err := db.Conn(ctx)
	if err != nil {
		_ = db.Close()
		return nil, nil, classify(path, err)
	}
	return db, conn, nil
}

// checkIntegrity runs PRAGMA quick_check (every page, every b-tree, every
// record format; it leaves out only the comparison of indexes with their
// table) before anything writes to the file.
func checkIntegrity(ctx context.Context, conn *sql.Conn, path string) error {
	rows, err := conn.QueryContext(ctx, "PRAGMA quick_check(10)")
	if err != nil {
		return classify(path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return classify(path, err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return classify(path, err)
	}
	if len(problems) > 0 {
		return corruptError(path, errors.New(strings.Join(problems, "; ")))
	}
	return nil
}

// pageSize is the page size of a new store: 8 KiB halves the pages, WAL
// frames and checkpoint writes of a large batch (a ~30 KB batch took 11%
// less CPU than with 4 KiB pages in bench/ingestd's batch scenario) and
// costs small ones nothing measurable. An existing store keeps its size.
const pageSize = 8192

// walCheckpointPages is the WAL size, in pages, past which a commit
// checkpoints (4 MiB of 8 KiB pages, as SQLite's default 1000 pages of 4 KiB).
const walCheckpointPages = 512

// prepareSchema switches the file to WAL, creates the table of a new store
// and refuses a database that is not an ingestd queue.
func prepareSchema(ctx context.Context, conn *sql.Conn, path string) error {
	// Only a database without pages takes a new page size; for any other
	// this does nothing.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA page_size=%d", pageSize)); err != nil {
		return classify(path, err)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA wal_autocheckpoint=%d", walCheckpointPages)); err != nil {
		return classify(path, err)
	}
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		return classify(path, err)
	}
	if mode != "wal" {
		return fmt.Errorf("open queue %s: journal mode is %q, want wal", path, mode)
	}
	var version, tables int
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return classify(path, err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
		return classify(path, err)
	}
	switch {
	case version == formatVersion:
		return nil
	case version == 0 && tables == 0:
		return migrate(ctx, conn, path, schema, keySchema)
	case version == 1:
		return migrate(ctx, conn, path, keySchema)
	case version == 0:
		return fmt.Errorf("open queue %s: the file is an SQLite database but not an ingestd queue (it has %d schema objects); choose another store.dir", path, tables)
	default:
		return fmt.Errorf("open queue %s: store format version %d, this build reads %d; use a newer ingestd", path, version, formatVersion)
	}
}

// migrate runs the statements and sets the format version in one
// transaction.
func migrate(ctx context.Context, conn *sql.Conn, path string, statements ...string) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return classify(path, err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, st := range statements {
		if _, err := tx.ExecContext(ctx, st); err != nil {
			return classify(path, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version=%d", formatVersion)); err != nil {
		return classify(path, err)
	}
	if err := tx.Commit(); err != nil {
		return classify(path, err)
	}
	return nil
}

// classify turns an SQLite error about the file's content into ErrCorrupt.
func classify(path string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqliteCorrupt, sqliteNotADB:
			return corruptError(path, err)
		}
	}
	return fmt.Errorf("open queue %s: %w", path, err)
}

func corruptError(path string, cause error) error {
	return fmt.Errorf("open queue %s: %w: %w; the file was left untouched: move it aside to start with an empty queue, or restore it from a backup", path, ErrCorrupt, cause)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
