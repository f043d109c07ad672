// Package store keeps the history of audits in an embedded SQLite database
// (pure Go, through modernc.org/sqlite), so that posture can be followed
// over time: every result document is stored whole, with its summary and the
// status of each control indexed beside it.
//
// A history database is marked with its own SQLite application id; a file
// that is not a database, or a database of another program, is refused
// rather than modified. The schema is migrated forward with PRAGMA
// user_version when a newer build opens an older database; an older build
// refuses a newer database.
package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hardgate/hardgate/internal/result"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Sentinel errors, for branching with errors.Is.
var (
	// ErrNotFound is returned by Get for an audit id that is not stored.
	ErrNotFound = errors.New("audit not found in history")
	// ErrConflict is returned by Add when the audit id is already stored
	// with a different result document.
	ErrConflict = errors.New("audit id already stored with different content")
	// ErrInvalidResult is returned by Add for a result that cannot be stored.
	ErrInvalidResult = errors.New("result cannot be stored")
	// ErrNotHistory is returned by Open for a file that is not a hardgate
	// history database (not SQLite at all, or another program's database).
	ErrNotHistory = errors.New("not a hardgate history database")
	// ErrSchemaTooNew is returned by Open for a database written by a newer
	// build of hardgate.
	ErrSchemaTooNew = errors.New("history database schema is newer than this build")
)

// applicationID marks a SQLite file as a hardgate history ("HGHS").
const applicationID = 0x48474853

// busyTimeout is how long a statement waits for another writer (ms).
const busyTimeout = "5000"

// timeLayout stores instants in UTC with a fixed width, so that text order
// is time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// migrations are applied in order; migration i leaves user_version = i+1.
// Each one sets user_version itself, inside the migration's transaction.
// Append only: never edit a migration that has shipped.
var migrations = []string{
	`CREATE TABLE audits (
		audit_id     TEXT PRIMARY KEY NOT NULL CHECK (audit_id <> ''),
		target       TEXT NOT NULL,
		started_at   TEXT NOT NULL,
		finished_at  TEXT NOT NULL,
		status       TEXT NOT NULL,
		posture      TEXT NOT NULL,
		risk_score   INTEGER NOT NULL,
		findings     INTEGER NOT NULL,
		tool_version TEXT NOT NULL,
		result_json  BLOB NOT NULL
	) STRICT;
	CREATE INDEX audits_by_target_time ON audits (target, started_at);
	CREATE INDEX audits_by_time ON audits (started_at);
	CREATE TABLE control_status (
		audit_id   TEXT NOT NULL REFERENCES audits (audit_id) ON DELETE CASCADE,
		control_id TEXT NOT NULL,
		status     TEXT NOT NULL,
		severity   TEXT NOT NULL,
		PRIMARY KEY (audit_id, control_id)
	) STRICT;
	CREATE INDEX control_status_by_control ON control_status (control_id, status);
	PRAGMA application_id = 1212631123;
	PRAGMA user_version = 1;`,
}

// SchemaVersion is the schema version this build writes.
var SchemaVersion = len(migrations)

// Store is an open history database. It is safe for concurrent use, and
// several processes may use the same file (WAL mode, busy timeout).
type Store struct {
	db   *sql.DB
	path string
}

// Entry is the summary of one stored audit.
type Entry struct {
	AuditID     string    `json:"audit_id"`
	Target      string    `json:"target"`
	StartedAt   time.Time `json:"started_at"`
	FinishedAt  time.Time `json:"finished_at"`
	Status      string    `json:"status"`
	Posture     string    `json:"posture"`
	RiskScore   int       `json:"risk_score"`
	Findings    int       `json:"findings"`
	ToolVersion string    `json:"tool_version"`
}

// Filter selects entries for List.
type Filter struct {
	// Target keeps only the audits of this target name; empty keeps all.
	Target string
	// Limit caps the number of entries (the newest); 0 means no cap.
	Limit int
}

// TrendPoint is one audit of a target in a trend: its summary and the
// status counts of its controls, failed controls counted by severity.
type TrendPoint struct {
	Entry
	Controls result.ControlCounts `json:"controls"`
	// FailedBySeverity counts failed controls by severity; every severity
	// of result.Severities is present.
	FailedBySeverity map[string]int `json:"failed_by_severity"`
}

// Open opens the history database at path, creating it (mode 0600) and its
// schema when missing, and migrating an older schema forward.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("open history: empty database path (give --db FILE or set HARDGATE_HISTORY)")
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("open history %s: %w (check that the directory exists and is writable)", path, err)
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("open history %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if err := s.init(ctx); err != nil {
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

// init checks that the file is a hardgate history (or an empty file), turns
// on WAL and applies pending migrations.
func (s *Store) init(ctx context.Context) error {
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
	var mode string
	if err := s.db.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode); err != nil {
		return fmt.Errorf("open history %s: enable WAL: %w", s.path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("open history %s: enable WAL: journal mode is %q (is the file on a filesystem without shared memory?)", s.path, mode)
	}
	return s.migrate(ctx)
}

// migrate applies the migrations above the database's user_version, each
// in its own transaction. The version is read again inside the
// transaction, so two processes opening a new file at once are safe.
func (s *Store) migrate(ctx context.Context) error {
	for {
		done, err := s.migrateOne(ctx)
		if err != nil {
			return fmt.Errorf("open history %s: migrate schema: %w", s.path, err)
		}
		if done {
			return nil
		}
	}
}

func (s *Store) migrateOne(ctx context.Context) (done bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT user_version FROM pragma_user_version()`).Scan(&version); err != nil {
		return false, err
	}
	switch {
	case version == len(migrations):
		return true, nil
	case version > len(migrations):
		return false, fmt.Errorf("%w: schema version %d, this build knows %d (upgrade hardgate)", ErrSchemaTooNew, version, len(migrations))
	}
	if _, err := tx.ExecContext(ctx, migrations[version]); err != nil {
		return false, fmt.Errorf("to version %d: %w", version+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("to version %d: %w", version+1, err)
	}
	return false, nil
}

// isNotADB reports whether err is SQLite's "file is not a database"
// (SQLITE_NOTADB, by its result code, never by the message).
func isNotADB(err error) bool {
	var coded interface{ Code() int }
	const sqliteNotADB = 26
	return errors.As(err, &coded) && coded.Code()&0xff == sqliteNotADB
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close history %s: %w", s.path, err)
	}
	return nil
}

// AddAll stores results in one transaction: either all are stored or none.
// It returns the audit ids that were new (the others were already stored
// with the same content). Adding a result whose audit id is already stored
// with different content fails with ErrConflict.
func (s *Store) AddAll(ctx context.Context, results []*result.Result) (added []string, err error) {
	rows := make([]row, 0, len(results))
	for i, res := range results {
		r, err := newRow(res)
		if err != nil {
			return nil, fmt.Errorf("add result %d: %w", i+1, err)
		}
		rows = append(rows, r)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("add to history %s: %w", s.path, err)
	}
	defer tx.Rollback()
	for _, r := range rows {
		inserted, err := r.insert(ctx, tx)
		if err != nil {
			return nil, fmt.Errorf("add %s to history %s: %w", r.res.AuditID, s.path, err)
		}
		if inserted {
			added = append(added, r.res.AuditID)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("add to history %s: %w", s.path, err)
	}
	return added, nil
}

// row is a result ready to be inserted.
type row struct {
	res  *result.Result
	json []byte
}

func newRow(res *result.Result) (row, error) {
	if res == nil {
		return row{}, fmt.Errorf("%w: no result", ErrInvalidResult)
	}
	if strings.TrimSpace(res.AuditID) == "" {
		return row{}, fmt.Errorf("%w: audit_id is empty (is this a hardgate result?)", ErrInvalidResult)
	}
	seen := make(map[string]bool, len(res.Controls))
	for _, c := range res.Controls {
		if seen[c.ID] {
			return row{}, fmt.Errorf("%w: %s lists control %q twice", ErrInvalidResult, res.AuditID, c.ID)
		}
		seen[c.ID] = true
	}
	data, err := json.Marshal(res)
	if err != nil {
		return row{}, fmt.Errorf("%w: %s: encode: %v", ErrInvalidResult, res.AuditID, err)
	}
	return row{res: res, json: data}, nil
}

// insert adds the row unless its audit id is present; a present id with
// other content is ErrConflict.
func (r row) insert(ctx context.Context, tx *sql.Tx) (bool, error) {
	res := r.res
	out, err := tx.ExecContext(ctx, `INSERT INTO audits
		(audit_id, target, started_at, finished_at, status, posture, risk_score, findings, tool_version, result_json)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (audit_id) DO NOTHING`,
		res.AuditID, res.Target.Name, formatTime(res.StartedAt), formatTime(res.FinishedAt),
		res.Summary.Status, res.Summary.Posture, res.Summary.RiskScore, res.Summary.Findings,
		res.Tool.Version, r.json)
	if err != nil {
		return false, err
	}
	n, err := out.RowsAffected()
	if err != nil {
		return false, err
	}
	if n == 0 {
		var stored []byte
		if err := tx.QueryRowContext(ctx, `SELECT result_json FROM audits WHERE audit_id = ?`, res.AuditID).Scan(&stored); err != nil {
			return false, err
		}
		if !bytes.Equal(stored, r.json) {
			return false, fmt.Errorf("%w: each audit needs its own id; compare the two with hardgate history show %s", ErrConflict, res.AuditID)
		}
		return false, nil
	}
	for _, c := range res.Controls {
		if _, err := tx.ExecContext(ctx, `INSERT INTO control_status (audit_id, control_id, status, severity) VALUES (?, ?, ?, ?)`,
			res.AuditID, c.ID, string(c.Status), c.Severity); err != nil {
			return false, fmt.Errorf("control %s: %w", c.ID, err)
		}
	}
	return true, nil
}

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

const entryColumns = `audit_id, target, started_at, finished_at, status, posture, risk_score, findings, tool_version`

type scanner interface{ Scan(dest ...any) error }
