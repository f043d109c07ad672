package serve

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func mustWhen(t *testing.T, yaml string, tgt Target) when {
	t.Helper()
	c, err := Parse(strings.NewReader("fleet: f.yaml\n" + yaml))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c.Schedule.scheduleFor(tgt)
}

func TestNextRun(t *testing.T) {
	every := mustWhen(t, "schedule: {every: 6h}", Target{})
	nightly := mustWhen(t, `schedule: {cron: "0 3 * * *"}`, Target{})
	tests := []struct {
		name        string
		w           when
		last, now   time.Time
		wantAt      time.Time
		wantTrigger string
	}{
		{"a target that never ran runs at once", every, time.Time{}, t0, t0, TriggerFirst},
		{"a target runs one interval after its last start", every, t0, t0.Add(time.Hour), t0.Add(6 * time.Hour), TriggerSchedule},
		{"a run missed while down runs at once", every, t0, t0.Add(7 * time.Hour), t0.Add(7 * time.Hour), TriggerCatchUp},
		{"ten missed runs still run once, now", every, t0, t0.Add(61 * time.Hour), t0.Add(61 * time.Hour), TriggerCatchUp},
		{"a cron target runs at the next firing after its last start", nightly, t0, t0.Add(time.Hour), time.Date(2026, 12, 2, 3, 0, 0, 0, time.Local), TriggerSchedule},
		{"a missed cron firing runs at once", nightly, t0, t0.Add(48 * time.Hour), t0.Add(48 * time.Hour), TriggerCatchUp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, trig := tt.w.next(tt.last, tt.now)
			if !at.Equal(tt.wantAt) || trig != tt.wantTrigger {
				t.Errorf("next = %v %s, want %v %s", at, trig, tt.wantAt, tt.wantTrigger)
			}
		})
	}
}

func TestScheduleForAppliesTheFirstMatchingOverrideAndJitter(t *testing.T) {
	cfg := `schedule:
  every: 6h
  overrides:
    - labels: {site: plant-1, model: pi4}
      every: 1h
    - labels: {site: plant-1}
      cron: "0 3 * * *"
`
	tests := []struct {
		name   string
		labels map[string]string
		want   string
		jitter time.Duration
	}{
		{"a target without labels keeps the default", nil, "every 6h0m0s", maxDefaultJitter},
		{"all labels of an override must match", map[string]string{"site": "plant-1", "model": "pi4"}, "every 1h0m0s", 5 * time.Minute},
		{"the first matching override wins", map[string]string{"site": "plant-1", "model": "pi3"}, "cron 0 3 * * *", maxDefaultJitter},
		{"another site keeps the default", map[string]string{"site": "plant-2", "model": "pi4"}, "every 6h0m0s", maxDefaultJitter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := mustWhen(t, cfg, Target{Name: "gw", Labels: tt.labels})
			if w.String() != tt.want || w.jitter != tt.jitter {
				t.Errorf("schedule %s jitter %v, want %s jitter %v", w, w.jitter, tt.want, tt.jitter)
			}
		})
	}
	if w := mustWhen(t, "schedule: {every: 10s}", Target{}); w.jitter != time.Second {
		t.Errorf("default jitter of 10s = %v, want a tenth", w.jitter)
	}
	if w := mustWhen(t, "schedule: {every: 10s, jitter: 0s}", Target{}); w.jitter != 0 {
		t.Errorf("explicit jitter 0 = %v", w.jitter)
	}
}
