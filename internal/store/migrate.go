package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migration is one schema version, written for each engine. The two texts
// create the same tables, columns and indexes; only the spelling of types
// and of generated ids differs. Times are fixed-width UTC text in both
// (timeLayout), so ordering and round trips are the same on both engines.
type migration struct {
	sqlite   string
	postgres string
}

// migrations are applied in order; migration i leaves the schema at version
// i+1. Append only: never edit a migration that has shipped. (The first
// SQLite text sets its own application id and user_version, as it did when
// it shipped; migrate sets the version of every later one.)
var migrations = []migration{
	{
		sqlite: `CREATE TABLE audits (
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
		postgres: `CREATE TABLE hardgate_meta (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	);
	INSERT INTO hardgate_meta (key, value) VALUES ('application', 'hardgate-history'), ('schema_version', '0');
	CREATE TABLE audits (
		audit_id     TEXT PRIMARY KEY NOT NULL CHECK (audit_id <> ''),
		target       TEXT NOT NULL,
		started_at   TEXT NOT NULL,
		finished_at  TEXT NOT NULL,
		status       TEXT NOT NULL,
		posture      TEXT NOT NULL,
		risk_score   BIGINT NOT NULL,
		findings     BIGINT NOT NULL,
		tool_version TEXT NOT NULL,
		result_json  BYTEA NOT NULL
	);
	CREATE INDEX audits_by_target_time ON audits (target, started_at);
	CREATE INDEX audits_by_time ON audits (started_at);
	CREATE TABLE control_status (
		audit_id   TEXT NOT NULL REFERENCES audits (audit_id) ON DELETE CASCADE,
		control_id TEXT NOT NULL,
		status     TEXT NOT NULL,
		severity   TEXT NOT NULL,
		PRIMARY KEY (audit_id, control_id)
	);
	CREATE INDEX control_status_by_control ON control_status (control_id, status);`,
	},
	{
		// The retainer: baseline changes (the newest per target is the
		// baseline), drift state per target, the alert outbox, and runs.
		sqlite: `CREATE TABLE baseline_changes (
		id         INTEGER PRIMARY KEY,
		target     TEXT NOT NULL,
		audit_id   TEXT NOT NULL REFERENCES audits (audit_id),
		changed_at TEXT NOT NULL,
		changed_by TEXT NOT NULL,
		reason     TEXT NOT NULL
	) STRICT;
	CREATE INDEX baseline_changes_by_target ON baseline_changes (target, id);
	CREATE TABLE drift_state (
		target      TEXT PRIMARY KEY NOT NULL,
		state       TEXT NOT NULL,
		audit_id    TEXT NOT NULL,
		baseline_id TEXT NOT NULL,
		changed_at  TEXT NOT NULL
	) STRICT;
	CREATE TABLE alerts (
		id              INTEGER PRIMARY KEY,
		target          TEXT NOT NULL,
		event           TEXT NOT NULL,
		audit_id        TEXT NOT NULL,
		payload         BLOB NOT NULL,
		created_at      TEXT NOT NULL,
		attempts        INTEGER NOT NULL DEFAULT 0,
		next_attempt_at TEXT NOT NULL,
		delivered_at    TEXT NOT NULL DEFAULT '',
		last_error      TEXT NOT NULL DEFAULT ''
	) STRICT;
	CREATE INDEX alerts_pending ON alerts (delivered_at, next_attempt_at);
	CREATE TABLE runs (
		id          INTEGER PRIMARY KEY,
		target      TEXT NOT NULL,
		trigger     TEXT NOT NULL,
		started_at  TEXT NOT NULL,
		finished_at TEXT NOT NULL DEFAULT '',
		state       TEXT NOT NULL,
		audit_id    TEXT NOT NULL DEFAULT '',
		error       TEXT NOT NULL DEFAULT ''
	) STRICT;
	CREATE INDEX runs_by_target_time ON runs (target, started_at);
	CREATE INDEX runs_by_state ON runs (state);`,
		postgres: `CREATE TABLE baseline_changes (
		id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		target     TEXT NOT NULL,
		audit_id   TEXT NOT NULL REFERENCES audits (audit_id),
		changed_at TEXT NOT NULL,
		changed_by TEXT NOT NULL,
		reason     TEXT NOT NULL
	);
	CREATE INDEX baseline_changes_by_target ON baseline_changes (target, id);
	CREATE TABLE drift_state (
		target      TEXT PRIMARY KEY NOT NULL,
		state       TEXT NOT NULL,
		audit_id    TEXT NOT NULL,
		baseline_id TEXT NOT NULL,
		changed_at  TEXT NOT NULL
	);
	CREATE TABLE alerts (
		id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		target          TEXT NOT NULL,
		event           TEXT NOT NULL,
		audit_id        TEXT NOT NULL,
		payload         BYTEA NOT NULL,
		created_at      TEXT NOT NULL,
		attempts        BIGINT NOT NULL DEFAULT 0,
		next_attempt_at TEXT NOT NULL,
		delivered_at    TEXT NOT NULL DEFAULT '',
		last_error      TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX alerts_pending ON alerts (delivered_at, next_attempt_at);
	CREATE TABLE runs (
		id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		target      TEXT NOT NULL,
		trigger     TEXT NOT NULL,
		started_at  TEXT NOT NULL,
		finished_at TEXT NOT NULL DEFAULT '',
		state       TEXT NOT NULL,
		audit_id    TEXT NOT NULL DEFAULT '',
		error       TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX runs_by_target_time ON runs (target, started_at);
	CREATE INDEX runs_by_state ON runs (state);`,
	},
}

// SchemaVersion is the schema version this build writes.
var SchemaVersion = len(migrations)

// migrate applies the migrations above the database's version, each in its
// own transaction. The version is read again inside the transaction (which
// SQLite opens with BEGIN IMMEDIATE and PostgreSQL serialises with an
// advisory lock), so two processes opening a new database at once are safe.
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

// migrationLock is the PostgreSQL advisory lock key of migrations ("HGHS").
const migrationLock = 0x48474853

func (s *Store) migrateOne(ctx context.Context) (done bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if s.dialect == postgresDialect {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return false, err
		}
	}
	version, err := s.schemaVersion(ctx, tx)
	if err != nil {
		return false, err
	}
	switch {
	case version == len(migrations):
		return true, nil
	case version > len(migrations):
		return false, fmt.Errorf("%w: schema version %d, this build knows %d (upgrade hardgate)", ErrSchemaTooNew, version, len(migrations))
	}
	m := migrations[version]
	text := m.sqlite
	if s.dialect == postgresDialect {
		text = m.postgres
	}
	if _, err := tx.ExecContext(ctx, text); err != nil {
		return false, fmt.Errorf("to version %d: %w", version+1, err)
	}
	if err := s.setSchemaVersion(ctx, tx, version+1); err != nil {
		return false, fmt.Errorf("to version %d: %w", version+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("to version %d: %w", version+1, err)
	}
	return false, nil
}

// schemaVersion reads the schema version: SQLite's user_version, or the
// schema_version row of hardgate_meta (0 before the first migration).
func (s *Store) schemaVersion(ctx context.Context, q querier) (int, error) {
	var version int
	if s.dialect == sqliteDialect {
		err := q.QueryRowContext(ctx, `SELECT user_version FROM pragma_user_version()`).Scan(&version)
		return version, err
	}
	// A query of the catalog table, not to_regclass: it takes a fresh
	// snapshot, so it sees a table another process created while this one
	// waited for the migration lock.
	var exists bool
	if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_name = 'hardgate_meta')`).Scan(&exists); err != nil {
		return 0, err
	}
	if !exists {
		return 0, nil
	}
	var text string
	if err := q.QueryRowContext(ctx, `SELECT value FROM hardgate_meta WHERE key = 'schema_version'`).Scan(&text); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if _, err := fmt.Sscanf(text, "%d", &version); err != nil {
		return 0, fmt.Errorf("schema version %q: %w", text, err)
	}
	return version, nil
}

func (s *Store) setSchemaVersion(ctx context.Context, tx *sql.Tx, version int) error {
	var err error
	if s.dialect == sqliteDialect {
		_, err = tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, version))
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE hardgate_meta SET value = $1 WHERE key = 'schema_version'`, fmt.Sprint(version))
	}
	return err
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
