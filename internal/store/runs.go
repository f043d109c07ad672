package store

import (
	"context"
	"fmt"
	"time"
)

// Run states.
const (
	RunRunning   = "running"
	RunDone      = "done"
	RunFailed    = "failed"
	RunCancelled = "cancelled"
	// RunAbandoned marks a run that was running when its process stopped
	// without finishing it (a crash or kill -9).
	RunAbandoned = "abandoned"
)

// Run is one scheduled or requested audit of a target.
type Run struct {
	ID         int64     `json:"id"`
	Target     string    `json:"target"`
	Trigger    string    `json:"trigger"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	State      string    `json:"state"`
	AuditID    string    `json:"audit_id,omitempty"`
	Error      string    `json:"error,omitempty"`
}

// StartRun records a run of target that starts at at, in state running.
func (s *Store) StartRun(ctx context.Context, target, trigger string, at time.Time) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, s.rebind(`INSERT INTO runs (target, trigger, started_at, state) VALUES (?, ?, ?, ?) RETURNING id`),
		target, trigger, formatTime(at), RunRunning).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("start run of %s in history %s: %w", target, s.path, err)
	}
	return id, nil
}

// FinishRun records how run id ended.
func (s *Store) FinishRun(ctx context.Context, id int64, state, auditID, msg string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`UPDATE runs SET state = ?, audit_id = ?, error = ?, finished_at = ? WHERE id = ?`),
		state, auditID, msg, formatTime(at), id)
	if err != nil {
		return fmt.Errorf("finish run %d in history %s: %w", id, s.path, err)
	}
	return nil
}

// AbandonRuns marks every run still running as abandoned (a process that
// starts calls it: those runs belonged to one that stopped without
// finishing them). It returns how many it marked.
func (s *Store) AbandonRuns(ctx context.Context, at time.Time) (int64, error) {
	out, err := s.db.ExecContext(ctx, s.rebind(`UPDATE runs SET state = ?, finished_at = ?, error = 'the process stopped during the run' WHERE state = ?`),
		RunAbandoned, formatTime(at), RunRunning)
	if err != nil {
		return 0, fmt.Errorf("abandon runs in history %s: %w", s.path, err)
	}
	return out.RowsAffected()
}

// LastRunStarts returns when the newest run of each target started.
func (s *Store) LastRunStarts(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT target, max(started_at) FROM runs GROUP BY target`)
	if err != nil {
		return nil, fmt.Errorf("runs in history %s: %w", s.path, err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var target, at string
		if err := rows.Scan(&target, &at); err != nil {
			return nil, err
		}
		if out[target], err = parseTime(at); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

// Runs returns the runs of target (all targets when empty), newest first.
func (s *Store) Runs(ctx context.Context, target string, limit int) ([]Run, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT id, target, trigger, started_at, finished_at, state, audit_id, error
		FROM runs WHERE (?1 = '' OR target = ?1) ORDER BY id DESC LIMIT ?2`), target, limit)
	if err != nil {
		return nil, fmt.Errorf("runs in history %s: %w", s.path, err)
	}
	defer rows.Close()
	out := []Run{}
	for rows.Next() {
		var r Run
		var started, finished string
		if err := rows.Scan(&r.ID, &r.Target, &r.Trigger, &started, &finished, &r.State, &r.AuditID, &r.Error); err != nil {
			return nil, err
		}
		if r.StartedAt, err = parseTime(started); err != nil {
			return nil, err
		}
		if finished != "" {
			if r.FinishedAt, err = parseTime(finished); err != nil {
				return nil, err
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
