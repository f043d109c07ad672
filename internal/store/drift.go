package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DriftState is where a target stands against its baseline, as last
// judged: the serve package names the states (passing, regressed,
// inconclusive).
type DriftState struct {
	Target     string    `json:"target"`
	State      string    `json:"state"`
	AuditID    string    `json:"audit_id"`
	BaselineID string    `json:"baseline_id"`
	ChangedAt  time.Time `json:"changed_at"`
}

// Alert is one queued alert of the outbox: written with the state change
// that raised it, delivered (and retried) later.
type Alert struct {
	ID            int64     `json:"id"`
	Target        string    `json:"target"`
	Event         string    `json:"event"`
	AuditID       string    `json:"audit_id"`
	Payload       []byte    `json:"-"`
	CreatedAt     time.Time `json:"created_at"`
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"next_attempt_at"`
	// DeliveredAt is zero until the receiver accepted the alert.
	DeliveredAt time.Time `json:"delivered_at"`
	LastError   string    `json:"last_error,omitempty"`
}

// DriftStates returns the last judged state of every target.
func (s *Store) DriftStates(ctx context.Context) (map[string]DriftState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT target, state, audit_id, baseline_id, changed_at FROM drift_state`)
	if err != nil {
		return nil, fmt.Errorf("drift states in history %s: %w", s.path, err)
	}
	defer rows.Close()
	out := map[string]DriftState{}
	for rows.Next() {
		var d DriftState
		var at string
		if err := rows.Scan(&d.Target, &d.State, &d.AuditID, &d.BaselineID, &at); err != nil {
			return nil, fmt.Errorf("drift states in history %s: %w", s.path, err)
		}
		if d.ChangedAt, err = parseTime(at); err != nil {
			return nil, err
		}
		out[d.Target] = d
	}
	return out, rows.Err()
}

// RecordDrift stores st as its target's state when it differs from the
// stored one and, in the same transaction, queues alert (when not nil).
// So an alert is queued once per state change, however often the same
// state is judged, and a restart neither loses nor repeats one. It
// reports whether the state changed.
func (s *Store) RecordDrift(ctx context.Context, st DriftState, alert *Alert) (bool, error) {
	fail := func(err error) (bool, error) {
		return false, fmt.Errorf("record drift of %s in history %s: %w", st.Target, s.path, err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	if err := s.lockTarget(ctx, tx, st.Target); err != nil {
		return fail(err)
	}
	var prev string
	err = tx.QueryRowContext(ctx, s.rebind(`SELECT state FROM drift_state WHERE target = ?`), st.Target).Scan(&prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fail(err)
	}
	if err == nil && prev == st.State {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO drift_state (target, state, audit_id, baseline_id, changed_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (target) DO UPDATE SET state = excluded.state, audit_id = excluded.audit_id,
			baseline_id = excluded.baseline_id, changed_at = excluded.changed_at`),
		st.Target, st.State, st.AuditID, st.BaselineID, formatTime(st.ChangedAt)); err != nil {
		return fail(err)
	}
	if alert != nil {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO alerts (target, event, audit_id, payload, created_at, next_attempt_at)
			VALUES (?, ?, ?, ?, ?, ?)`), alert.Target, alert.Event, alert.AuditID, alert.Payload,
			formatTime(alert.CreatedAt), formatTime(alert.CreatedAt)); err != nil {
			return fail(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return true, nil
}

const alertColumns = `id, target, event, audit_id, payload, created_at, attempts, next_attempt_at, delivered_at, last_error`

func scanAlert(sc scanner) (Alert, error) {
	var a Alert
	var created, next, delivered string
	if err := sc.Scan(&a.ID, &a.Target, &a.Event, &a.AuditID, &a.Payload, &created, &a.Attempts, &next, &delivered, &a.LastError); err != nil {
		return a, err
	}
	var err error
	if a.CreatedAt, err = parseTime(created); err != nil {
		return a, err
	}
	if a.NextAttemptAt, err = parseTime(next); err != nil {
		return a, err
	}
	if delivered != "" {
		a.DeliveredAt, err = parseTime(delivered)
	}
	return a, err
}

// PendingAlerts returns undelivered alerts due at now, oldest first.
func (s *Store) PendingAlerts(ctx context.Context, now time.Time, limit int) ([]Alert, error) {
	return s.alerts(ctx, `WHERE delivered_at = '' AND next_attempt_at <= ? ORDER BY id LIMIT ?`, formatTime(now), limit)
}

// NextAlertDue returns when the earliest undelivered alert is due; ok is
// false when none is waiting.
func (s *Store) NextAlertDue(ctx context.Context) (due time.Time, ok bool, err error) {
	var next sql.NullString
	if err := s.db.QueryRowContext(ctx, `SELECT min(next_attempt_at) FROM alerts WHERE delivered_at = ''`).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("alerts in history %s: %w", s.path, err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	due, err = parseTime(next.String)
	return due, err == nil, err
}

// Alerts returns the alerts of target (all targets when empty), newest first.
func (s *Store) Alerts(ctx context.Context, target string, limit int) ([]Alert, error) {
	if limit <= 0 {
		limit = 1000
	}
	return s.alerts(ctx, `WHERE (?1 = '' OR target = ?1) ORDER BY id DESC LIMIT ?2`, target, limit)
}

func (s *Store) alerts(ctx context.Context, where string, args ...any) ([]Alert, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT `+alertColumns+` FROM alerts `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("alerts in history %s: %w", s.path, err)
	}
	defer rows.Close()
	out := []Alert{}
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("alerts in history %s: %w", s.path, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// AlertDelivered marks an alert delivered after attempts attempts.
func (s *Store) AlertDelivered(ctx context.Context, id int64, attempts int, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`UPDATE alerts SET delivered_at = ?, attempts = ?, last_error = '' WHERE id = ?`),
		formatTime(at), attempts, id)
	if err != nil {
		return fmt.Errorf("alert %d in history %s: %w", id, s.path, err)
	}
	return nil
}

// AlertFailed records a failed attempt and when to try again.
func (s *Store) AlertFailed(ctx context.Context, id int64, attempts int, next time.Time, msg string) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`UPDATE alerts SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?`),
		attempts, formatTime(next), msg, id)
	if err != nil {
		return fmt.Errorf("alert %d in history %s: %w", id, s.path, err)
	}
	return nil
}
