// Package store keeps the history of audits, so that posture can be
// followed over time: every result document is stored whole, with its
// summary and the status of each control indexed beside it, and beside them
// what the retainer service (hardgate serve) keeps: baselines and their
// changes, the drift state of each target, the alert outbox and the runs.
//
// Two engines hold one schema: an embedded SQLite file (pure Go, through
// modernc.org/sqlite; the default) and PostgreSQL (through jackc/pgx), chosen
// by the location given to Open. The schema is migrated forward by one list
// of versioned migrations, each written for both engines; an older build
// refuses a newer database. A SQLite history is marked with its own
// application id and a PostgreSQL one with a hardgate_meta table: a file or
// database of another program is refused rather than modified.
package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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

// timeLayout stores instants in UTC with a fixed width, so that text order
// is time order. Both engines store times as this text.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// Store is an open history database. It is safe for concurrent use, and
// several processes may share it (SQLite: WAL mode and a busy timeout).
type Store struct {
	db      *sql.DB
	path    string // the location as shown in messages (never a password)
	dialect dialect
}

// dialect is the SQL engine behind a Store.
type dialect int

const (
	sqliteDialect dialect = iota
	postgresDialect
)

// Engine names the engine: "sqlite" or "postgres".
func (s *Store) Engine() string {
	if s.dialect == postgresDialect {
		return "postgres"
	}
	return "sqlite"
}

// Location is where the history is, as safe to print (a PostgreSQL URL
// without its password).
func (s *Store) Location() string { return s.path }

// IsPostgres reports whether location names a PostgreSQL database (a
// postgres:// or postgresql:// URL) rather than a SQLite file.
func IsPostgres(location string) bool {
	return strings.HasPrefix(location, "postgres://") || strings.HasPrefix(location, "postgresql://")
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

// Open opens the history at location: a PostgreSQL URL (see IsPostgres)
// or the path of a SQLite file, creating it (mode 0600) and its schema when
// missing, and migrating an older schema forward.
func Open(ctx context.Context, location string) (*Store, error) {
	if location == "" {
		return nil, errors.New("open history: empty database path (give --db FILE or set HARDGATE_HISTORY)")
	}
	if IsPostgres(location) {
		return openPostgres(ctx, location)
	}
	return openSQLite(ctx, location)
}

// rebind turns the ? placeholders of a query into PostgreSQL's $1, $2...
// ("?N" becomes "$N"). The queries are this package's own, with no
// question mark inside a literal.
func (s *Store) rebind(q string) string {
	if s.dialect != postgresDialect {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] != '?' {
			b.WriteByte(q[i])
			continue
		}
		if i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9' {
			b.WriteByte('$')
			continue
		}
		n++
		fmt.Fprintf(&b, "$%d", n)
	}
	return b.String()
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
		inserted, err := r.insert(ctx, s, tx)
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
	// PostgreSQL text cannot hold a NUL byte; both engines refuse one in
	// the indexed columns, so a history moves between them unchanged.
	texts := []string{res.AuditID, res.Target.Name, res.Summary.Status, res.Summary.Posture, res.Tool.Version}
	for _, c := range res.Controls {
		texts = append(texts, c.ID, string(c.Status), c.Severity)
	}
	for _, text := range texts {
		if strings.ContainsRune(text, 0) {
			return row{}, fmt.Errorf("%w: %q holds a NUL byte", ErrInvalidResult, text)
		}
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
func (r row) insert(ctx context.Context, s *Store, tx *sql.Tx) (bool, error) {
	res := r.res
	out, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO audits
		(audit_id, target, started_at, finished_at, status, posture, risk_score, findings, tool_version, result_json)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (audit_id) DO NOTHING`),
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
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT result_json FROM audits WHERE audit_id = ?`), res.AuditID).Scan(&stored); err != nil {
			return false, err
		}
		if !bytes.Equal(stored, r.json) {
			return false, fmt.Errorf("%w: each audit needs its own id; compare the two with hardgate history show %s", ErrConflict, res.AuditID)
		}
		return false, nil
	}
	for _, c := range res.Controls {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO control_status (audit_id, control_id, status, severity) VALUES (?, ?, ?, ?)`),
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
