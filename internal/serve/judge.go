package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hardgate/hardgate/internal/delta"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/store"
)

// Drift states of a target against its baseline.
const (
	// StateNoBaseline: no PASS yet, so nothing to compare with.
	StateNoBaseline = "no_baseline"
	// StatePassing: no control that passed in the baseline fails now.
	StatePassing = "passing"
	// StateRegressed: at least one control that passed in the baseline
	// fails now (the delta's "regressed" bucket, to fail).
	StateRegressed = "regressed"
	// StateInconclusive: no control regressed to fail, but the audit could
	// not decide (its status is INCONCLUSIVE).
	StateInconclusive = "inconclusive"
)

// Alert events: one per change of drift state.
const (
	EventRegression   = "regression"
	EventRecovered    = "recovered"
	EventInconclusive = "inconclusive"
)

// AlertSchemaVersion versions the alert JSON.
const AlertSchemaVersion = "1"

// AlertPayload is the JSON body of a webhook alert.
type AlertPayload struct {
	SchemaVersion string            `json:"schema_version"`
	ID            string            `json:"id"`
	Event         string            `json:"event"`
	Target        string            `json:"target"`
	Labels        map[string]string `json:"labels"`
	AuditID       string            `json:"audit_id"`
	BaselineID    string            `json:"baseline_id"`
	Status        string            `json:"status"`
	// Regressed lists the controls in the delta's regressed bucket.
	Regressed     []string  `json:"regressed"`
	RiskBefore    int       `json:"risk_before"`
	RiskAfter     int       `json:"risk_after"`
	PostureBefore string    `json:"posture_before"`
	PostureAfter  string    `json:"posture_after"`
	At            time.Time `json:"at"`
}

// verdict is the judgment of one result against the baseline.
type verdict struct {
	state     string
	baseline  string
	regressed []string
	d         *delta.Delta
}

// judge compares res with its target's baseline (the first PASS becomes
// the baseline when there is none) and records the drift state, queueing
// an alert when the state changed. It returns the verdict.
func (s *Service) judge(ctx context.Context, t Target, res *result.Result) (verdict, error) {
	base, err := s.store.Baseline(ctx, t.Name)
	if errors.Is(err, store.ErrNoBaseline) {
		if res.Summary.Status != result.AuditPass {
			return verdict{state: StateNoBaseline}, s.recordState(ctx, t, res, verdict{state: StateNoBaseline}, nil)
		}
		if _, err := s.store.SetBaselineIfNone(ctx, store.BaselineChange{Target: t.Name, AuditID: res.AuditID,
			At: s.now(), By: "serve", Reason: "first PASS"}); err != nil {
			return verdict{}, err
		}
		if base, err = s.store.Baseline(ctx, t.Name); err != nil {
			return verdict{}, err
		}
		s.mu.Lock()
		s.statuses[t.Name].Baseline = &base
		s.mu.Unlock()
	} else if err != nil {
		return verdict{}, err
	}
	baseRes, err := s.result(ctx, base.AuditID)
	if err != nil {
		return verdict{}, err
	}
	d, err := delta.Compare(baseRes, res, delta.Options{AllowDifferentTargets: true})
	if err != nil {
		return verdict{}, fmt.Errorf("compare %s with baseline %s: %w", res.AuditID, base.AuditID, err)
	}
	v := verdict{state: StatePassing, baseline: base.AuditID, regressed: d.Regressed, d: d}
	failing := slices.ContainsFunc(d.Changes, func(c delta.Change) bool {
		return c.Bucket == delta.Regressed && c.After == result.StatusFail
	})
	switch {
	case failing:
		v.state = StateRegressed
	case res.Summary.Status == result.AuditInconclusive:
		v.state = StateInconclusive
	}
	return v, s.recordState(ctx, t, res, v, d)
}

// eventFor is the alert event of a change from prev to next, if any.
func eventFor(prev, next string) string {
	if prev == next {
		return ""
	}
	switch next {
	case StateRegressed:
		return EventRegression
	case StateInconclusive:
		return EventInconclusive
	case StatePassing:
		if prev == StateRegressed || prev == StateInconclusive {
			return EventRecovered
		}
	}
	return ""
}

// recordState stores the new state and, when it is a change that alerts,
// the alert, in one transaction; then wakes the webhook sender.
func (s *Service) recordState(ctx context.Context, t Target, res *result.Result, v verdict, d *delta.Delta) error {
	prev := s.status(t.Name).Drift
	st := store.DriftState{Target: t.Name, State: v.state, AuditID: res.AuditID, BaselineID: v.baseline, ChangedAt: s.now()}
	var alert *store.Alert
	event := eventFor(prev, v.state)
	if event != "" && s.webhook != nil {
		p := AlertPayload{
			SchemaVersion: AlertSchemaVersion, ID: event + ":" + res.AuditID, Event: event,
			Target: t.Name, Labels: maps.Clone(t.Labels), AuditID: res.AuditID, BaselineID: v.baseline,
			Status: res.Summary.Status, Regressed: append([]string{}, v.regressed...),
			RiskAfter: res.Summary.RiskScore, PostureAfter: res.Summary.Posture, At: st.ChangedAt,
		}
		if p.Labels == nil {
			p.Labels = map[string]string{}
		}
		if d != nil {
			p.RiskBefore, p.PostureBefore = d.Risk.Before, d.Posture.Before
		}
		body, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("encode alert: %w", err)
		}
		alert = &store.Alert{Target: t.Name, Event: event, AuditID: res.AuditID, Payload: body, CreatedAt: st.ChangedAt}
	}
	changed, err := s.store.RecordDrift(ctx, st, alert)
	if err != nil {
		return err
	}
	s.setDrift(t.Name, v.state)
	if changed && event != "" {
		s.log.Info("drift", "target", t.Name, "event", event, "from", prev, "to", v.state, "audit_id", res.AuditID, "baseline_id", v.baseline)
		s.metrics.driftEvents.WithLabelValues(event).Inc()
		if alert != nil {
			s.webhook.notify()
		}
	}
	return nil
}
