package serve

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/hardgate/hardgate/internal/audit"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

// Target is one gateway of the fleet, as serve schedules it.
type Target struct {
	// Name is unique in the fleet; results carry it as target name.
	Name string
	// Labels select schedules and filter the dashboard.
	Labels map[string]string
	// Spec is the target spec the audit engine runs (complete, its paths
	// resolved).
	Spec *spec.Target
}

// LabelString is the labels as "k=v, k=v", sorted by key.
func (t Target) LabelString() string {
	s := ""
	for _, k := range slices.Sorted(maps.Keys(t.Labels)) {
		if s != "" {
			s += ", "
		}
		s += k + "=" + t.Labels[k]
	}
	return s
}

// Matches reports whether the target carries every label of want.
func (t Target) Matches(want map[string]string) bool {
	for k, v := range want {
		if got, ok := t.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// FleetLoader returns the targets to serve, read from the fleet file.
type FleetLoader func(path string) ([]Target, error)

// Executor runs one audit of one target and returns its result. The error
// is for problems that prevented an audit (an invalid spec, a missing
// secret); what the probes met is in the result. Executor is the seam where
// a remote runner (site agents over NATS) replaces the local engine.
type Executor interface {
	Audit(ctx context.Context, t Target) (*result.Result, error)
}

// LocalExecutor runs the audit engine in this process.
type LocalExecutor struct {
	// ToolVersion is written into results.
	ToolVersion string
	// Logger receives the engine's per-probe debug lines.
	Logger *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Audit prepares the target's spec (validation, secrets, trust anchors)
// and audits it.
func (e LocalExecutor) Audit(ctx context.Context, t Target) (*result.Result, error) {
	if t.Spec == nil {
		return nil, fmt.Errorf("target %s has no spec", t.Name)
	}
	plan, err := audit.Prepare(t.Spec)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", t.Name, err)
	}
	return plan.Run(ctx, audit.Options{ToolVersion: e.ToolVersion, Logger: e.Logger, Now: e.Now})
}

// LoadFleet reads and validates the fleet file at path (the format of
// hardgate audit --fleet) and returns its targets.
func LoadFleet(path string) ([]Target, error) {
	f, err := spec.LoadFleet(path)
	if err != nil {
		return nil, err
	}
	out := make([]Target, 0, len(f.Targets))
	for i := range f.Targets {
		ft := &f.Targets[i]
		out = append(out, Target{Name: ft.Name(), Labels: ft.Labels, Spec: &ft.Target})
	}
	return out, nil
}
