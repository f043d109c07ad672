package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// More sentinel errors, for the retainer's data.
var (
	// ErrNoBaseline is returned by Baseline for a target without one.
	ErrNoBaseline = errors.New("target has no baseline")
	// ErrWrongTarget is returned by SetBaseline for an audit of another target.
	ErrWrongTarget = errors.New("audit is of another target")
)

// BaselineChange is one change of a target's baseline: the newest change
// of a target names its baseline, and every change is kept.
type BaselineChange struct {
	ID      int64     `json:"id"`
	Target  string    `json:"target"`
	AuditID string    `json:"audit_id"`
	At      time.Time `json:"at"`
	// By is who changed it: a token's name, "serve" for the first PASS,
	// or the user running hardgate baseline set.
	By string `json:"by"`
	// Reason says why.
	Reason string `json:"reason"`
}

// SetBaseline makes c.AuditID the baseline of c.Target and keeps the
// change. The audit must be stored and be of that target. A zero c.At is
// now.
func (s *Store) SetBaseline(ctx context.Context, c BaselineChange) error {
	_, err := s.setBaseline(ctx, c, false)
	return err
}

// SetBaselineIfNone is SetBaseline only when the target has no baseline
// yet (checked and set in one transaction); it reports whether it set one.
func (s *Store) SetBaselineIfNone(ctx context.Context, c BaselineChange) (bool, error) {
	return s.setBaseline(ctx, c, true)
}

func (s *Store) setBaseline(ctx context.Context, c BaselineChange, onlyIfNone bool) (bool, error) {
	if c.At.IsZero() {
		c.At = time.Now()
	}
	fail := func(err error) (bool, error) {
		return false, fmt.Errorf("set baseline of %s to %s in history %s: %w", c.Target, c.AuditID, s.path, err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	if err := s.lockTarget(ctx, tx, c.Target); err != nil {
		return fail(err)
	}
	var target string
	err = tx.QueryRowContext(ctx, s.rebind(`SELECT target FROM audits WHERE audit_id = ?`), c.AuditID).Scan(&target)
	if errors.Is(err, sql.ErrNoRows) {
		return fail(fmt.Errorf("%w: %q (hardgate history list --target %s shows its audits)", ErrNotFound, c.AuditID, c.Target))
	}
	if err != nil {
		return fail(err)
	}
	if target != c.Target {
		return fail(fmt.Errorf("%w: %s is an audit of %q", ErrWrongTarget, c.AuditID, target))
	}
	if onlyIfNone {
		var n int
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT count(*) FROM baseline_changes WHERE target = ?`), c.Target).Scan(&n); err != nil {
			return fail(err)
		}
		if n > 0 {
			return false, nil
		}
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO baseline_changes (target, audit_id, changed_at, changed_by, reason)
		VALUES (?, ?, ?, ?, ?)`), c.Target, c.AuditID, formatTime(c.At), c.By, c.Reason); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return true, nil
}

// lockTarget serialises writers of one target's retainer rows on
// PostgreSQL (SQLite transactions are already exclusive).
func (s *Store) lockTarget(ctx context.Context, tx *sql.Tx, target string) error {
	if s.dialect != postgresDialect {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('hardgate:' || $1))`, target)
	return err
}

const baselineColumns = `id, target, audit_id, changed_at, changed_by, reason`

func scanBaseline(sc scanner) (BaselineChange, error) {
	var c BaselineChange
	var at string
	if err := sc.Scan(&c.ID, &c.Target, &c.AuditID, &at, &c.By, &c.Reason); err != nil {
		return c, err
	}
	var err error
	c.At, err = parseTime(at)
	return c, err
}

// Baseline returns the current baseline of target (ErrNoBaseline without one).
func (s *Store) Baseline(ctx context.Context, target string) (BaselineChange, error) {
	c, err := scanBaseline(s.db.QueryRowContext(ctx, s.rebind(`SELECT `+baselineColumns+` FROM baseline_changes
		WHERE target = ? ORDER BY id DESC LIMIT 1`), target))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("%w: %q (hardgate baseline set %s AUDIT_ID sets one)", ErrNoBaseline, target, target)
	}
	if err != nil {
		return c, fmt.Errorf("baseline of %s in history %s: %w", target, s.path, err)
	}
	return c, nil
}

// BaselineHistory returns every baseline change of target, newest first.
func (s *Store) BaselineHistory(ctx context.Context, target string) ([]BaselineChange, error) {
	return s.baselines(ctx, `WHERE target = ? ORDER BY id DESC`, target)
}

// Baselines returns the current baseline of every target that has one.
func (s *Store) Baselines(ctx context.Context) (map[string]BaselineChange, error) {
	list, err := s.baselines(ctx, `WHERE id IN (SELECT max(id) FROM baseline_changes GROUP BY target) ORDER BY target`)
	if err != nil {
		return nil, err
	}
	out := make(map[string]BaselineChange, len(list))
	for _, c := range list {
		out[c.Target] = c
	}
	return out, nil
}

func (s *Store) baselines(ctx context.Context, where string, args ...any) ([]BaselineChange, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT `+baselineColumns+` FROM baseline_changes `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("baselines in history %s: %w", s.path, err)
	}
	defer rows.Close()
	out := []BaselineChange{}
	for rows.Next() {
		c, err := scanBaseline(rows)
		if err != nil {
			return nil, fmt.Errorf("baselines in history %s: %w", s.path, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("baselines in history %s: %w", s.path, err)
	}
	return out, nil
}
