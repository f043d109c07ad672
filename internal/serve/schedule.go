package serve

import (
	"time"

	"github.com/robfig/cron/v3"
)

// Run triggers, as recorded in the runs table.
const (
	TriggerFirst    = "first"    // the target has never run
	TriggerSchedule = "schedule" // its time came
	TriggerCatchUp  = "catch-up" // its time passed while serve was down (once, however many were missed)
	TriggerManual   = "manual"   // "audit now"
)

// maxDefaultJitter caps the default jitter.
const maxDefaultJitter = 5 * time.Minute

// when is one target's resolved schedule.
type when struct {
	every  time.Duration
	cron   cron.Schedule
	expr   string
	jitter time.Duration
}

// String is the schedule as the dashboard shows it.
func (w when) String() string {
	if w.cron != nil {
		return "cron " + w.expr
	}
	return "every " + w.every.String()
}

// scheduleFor resolves the schedule of t: the first override whose labels
// t carries, else the default; the config must be valid.
func (s *Schedule) scheduleFor(t Target) when {
	every, expr := s.Every, s.Cron
	for _, o := range s.Overrides {
		if t.Matches(o.Labels) {
			every, expr = o.Every, o.Cron
			break
		}
	}
	w := when{every: time.Duration(every), expr: expr}
	if expr != "" {
		w.cron, _ = cron.ParseStandard(expr) // checked by Validate
	}
	if s.Jitter != nil {
		w.jitter = time.Duration(*s.Jitter)
	} else {
		w.jitter = min(w.interval()/10, maxDefaultJitter)
	}
	return w
}

// interval is the time between two runs (for cron, between the next two
// firings from a fixed instant).
func (w when) interval() time.Duration {
	if w.cron == nil {
		return w.every
	}
	ref := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	first := w.cron.Next(ref)
	return w.cron.Next(first).Sub(first)
}

// next says when a target whose newest run started at last runs again, seen
// at now, and why. A target that never ran runs now; one whose time passed
// (however many runs were missed while serve was down) runs now, once.
// Jitter is added by the caller.
func (w when) next(last, now time.Time) (time.Time, string) {
	if last.IsZero() {
		return now, TriggerFirst
	}
	var due time.Time
	if w.cron != nil {
		due = w.cron.Next(last)
	} else {
		due = last.Add(w.every)
	}
	if !due.After(now) {
		return now, TriggerCatchUp
	}
	return due, TriggerSchedule
}
