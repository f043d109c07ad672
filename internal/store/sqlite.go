package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// applicationID marks a SQLite file as a hardgate history ("HGHS").
const applicationID = 0x48474853

// busyTimeout is how long a statement waits for another writer (ms).
const busyTimeout = "5000"

// openSQLite opens (creating when missing) the SQLite history at path.
func openSQLite(ctx context.Context, path string) (*Store, error) {
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("open history %s: %w (check that the directory exists and is writable)", path, err)
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("open history %s: %w", path, err)
	}
	s := &Store{db: db, path: path, dialect: sqliteDialect}
	if err := s.initSQLite(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// createPrivate creates an empty file readable by its owner only when path
// does not exist yet: results describe the internals of a gateway.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// dsn builds a SQLite URI for path. The characters that are special in a
// URI are escaped, so a path holding '?', '#' or '%' names that very file.
// Every connection of the pool gets the busy timeout, foreign keys, full
// sync, and BEGIN IMMEDIATE for transactions (they all write).
func dsn(path string) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	if strings.HasPrefix(esc, "//") {
		esc = "/" + strings.TrimLeft(esc, "/")
	}
	return "file:" + esc + "?_pragma=busy_timeout(" + busyTimeout + ")&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_txlock=immediate"
}

// initSQLite checks that the file is a hardgate history (or an empty
// file), turns on WAL and applies pending migrations.
func (s *Store) initSQLite(ctx context.Context) error {
	var appID, version, objects int
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT application_id FROM pragma_application_id()),
		(SELECT user_version FROM pragma_user_version()),
		(SELECT count(*) FROM sqlite_schema)`).Scan(&appID, &version, &objects)
	if err != nil {
		if isNotADB(err) {
			return fmt.Errorf("open history %s: %w: the file is not a SQLite database (point --db at a history file or a new path)", s.path, ErrNotHistory)
		}
		return fmt.Errorf("open history %s: %w", s.path, err)
	}
	fresh := appID == 0 && version == 0 && objects == 0
	if !fresh && appID != applicationID {
		return fmt.Errorf("open history %s: %w: it is a SQLite database of another program (application id %d, %d schema objects); point --db at a history file or a new path", s.path, ErrNotHistory, appID, objects)
	}
	if version > len(migrations) {
		return fmt.Errorf("open history %s: %w: schema version %d, this build knows %d (upgrade hardgate)", s.path, ErrSchemaTooNew, version, len(migrations))
	}
	mode, err := s.enableWAL(ctx)
	if err != nil {
		return fmt.Errorf("open history %s: enable WAL: %w", s.path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("open history %s: enable WAL: journal mode is %q (is the file on a filesystem without shared memory?)", s.path, mode)
	}
	return s.migrate(ctx)
}

// enableWAL switches a new database to WAL. Two processes opening the same
// new file at once can meet SQLITE_BUSY here without SQLite's busy handler
// being consulted (the switch needs an exclusive lock), so it is retried
// for as long as busy_timeout would have waited.
func (s *Store) enableWAL(ctx context.Context) (string, error) {
	deadline := time.Now().Add(5 * time.Second)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		var mode string
		err := s.db.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return mode, err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(wait):
		}
	}
}

// isBusy reports whether err is SQLITE_BUSY or SQLITE_LOCKED, by result code.
func isBusy(err error) bool {
	var coded interface{ Code() int }
	const sqliteBusy, sqliteLocked = 5, 6
	if !errors.As(err, &coded) {
		return false
	}
	c := coded.Code() & 0xff
	return c == sqliteBusy || c == sqliteLocked
}

// isNotADB reports whether err is SQLite's "file is not a database"
// (SQLITE_NOTADB, by its result code, never by the message).
func isNotADB(err error) bool {
	var coded interface{ Code() int }
	const sqliteNotADB = 26
	return errors.As(err, &coded) && coded.Code()&0xff == sqliteNotADB
}
