package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hardgate/hardgate/internal/result"
)

// Get returns the stored result of an audit, decoded as strictly as a
// result file.
func (s *Store) Get(ctx context.Context, auditID string) (*result.Result, error) {
	var data []byte
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT result_json FROM audits WHERE audit_id = ?`), auditID).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %q (hardgate history list shows the stored ids)", ErrNotFound, auditID)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s from history %s: %w", auditID, s.path, err)
	}
	res, err := result.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("get %s from history %s: stored result: %w", auditID, s.path, err)
	}
	return res, nil
}

func scanEntry(sc scanner) (Entry, error) {
	var e Entry
	var started, finished string
	if err := sc.Scan(&e.AuditID, &e.Target, &started, &finished, &e.Status, &e.Posture, &e.RiskScore, &e.Findings, &e.ToolVersion); err != nil {
		return Entry{}, err
	}
	var err error
	if e.StartedAt, err = parseTime(started); err != nil {
		return Entry{}, err
	}
	if e.FinishedAt, err = parseTime(finished); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// List returns the stored audits, newest first (by start time, then audit
// id, so the order is total).
func (s *Store) List(ctx context.Context, f Filter) ([]Entry, error) {
	if f.Limit < 0 {
		return nil, fmt.Errorf("list history: limit %d is negative", f.Limit)
	}
	q := `SELECT ` + entryColumns + ` FROM audits
		WHERE (?1 = '' OR target = ?1)
		ORDER BY started_at DESC, audit_id DESC`
	args := []any{f.Target}
	if f.Limit > 0 {
		q += ` LIMIT ?2`
		args = append(args, f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("list history %s: %w", s.path, err)
	}
	defer rows.Close()
	entries := []Entry{}
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("list history %s: %w", s.path, err)
		}
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list history %s: %w", s.path, err)
	}
	return entries, nil
}

// Trend returns the audits of one target in time order (oldest first), each
// with its posture, risk score, finding count and control status counts.
func (s *Store) Trend(ctx context.Context, target string) ([]TrendPoint, error) {
	if target == "" {
		return nil, errors.New("trend: target name is empty (hardgate history list shows the targets)")
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT `+entryColumns+` FROM audits
		WHERE target = ?
		ORDER BY started_at, audit_id`), target)
	if err != nil {
		return nil, fmt.Errorf("trend %s in history %s: %w", target, s.path, err)
	}
	points := []TrendPoint{}
	index := map[string]int{}
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("trend %s in history %s: %w", target, s.path, err)
		}
		p := TrendPoint{Entry: e, FailedBySeverity: map[string]int{}}
		for _, sev := range result.Severities {
			p.FailedBySeverity[sev] = 0
		}
		index[e.AuditID] = len(points)
		points = append(points, p)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, fmt.Errorf("trend %s in history %s: %w", target, s.path, err)
	}
	rows.Close()

	counts, err := s.db.QueryContext(ctx, s.rebind(`SELECT c.audit_id, c.status, c.severity, count(*)
		FROM control_status c JOIN audits a ON a.audit_id = c.audit_id
		WHERE a.target = ?
		GROUP BY c.audit_id, c.status, c.severity`), target)
	if err != nil {
		return nil, fmt.Errorf("trend %s in history %s: %w", target, s.path, err)
	}
	defer counts.Close()
	for counts.Next() {
		var id, status, severity string
		var n int
		if err := counts.Scan(&id, &status, &severity, &n); err != nil {
			return nil, fmt.Errorf("trend %s in history %s: %w", target, s.path, err)
		}
		i, ok := index[id]
		if !ok {
			continue // added between the two queries
		}
		c := &points[i].Controls
		c.Total += n
		switch result.Status(status) {
		case result.StatusPass:
			c.Pass += n
		case result.StatusFail:
			c.Fail += n
			points[i].FailedBySeverity[severity] += n
		case result.StatusNotApplicable:
			c.NotApplicable += n
		case result.StatusError:
			c.Error += n
		case result.StatusWaived:
			c.Waived += n
		}
	}
	if err := counts.Err(); err != nil {
		return nil, fmt.Errorf("trend %s in history %s: %w", target, s.path, err)
	}
	return points, nil
}

// Recent returns the newest n audits of every target (n >= 1), each
// target's oldest first, in one query: the dashboard's overview and
// sparklines, and the latest audit of each target after a restart.
func (s *Store) Recent(ctx context.Context, n int) (map[string][]Entry, error) {
	if n < 1 {
		return nil, fmt.Errorf("recent audits: n %d must be at least 1", n)
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT `+entryColumns+` FROM (
			SELECT `+entryColumns+`, row_number() OVER (PARTITION BY target ORDER BY started_at DESC, audit_id DESC) AS age
			FROM audits) recent
		WHERE age <= ?
		ORDER BY target, started_at, audit_id`), n)
	if err != nil {
		return nil, fmt.Errorf("recent audits in history %s: %w", s.path, err)
	}
	defer rows.Close()
	out := map[string][]Entry{}
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("recent audits in history %s: %w", s.path, err)
		}
		out[e.Target] = append(out[e.Target], e)
	}
	return out, rows.Err()
}
