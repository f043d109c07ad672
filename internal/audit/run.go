// Package audit runs an audit, stage by stage: the target spec (package
// spec) is validated, what it refers to is resolved and the probes run
// (package collect, all the I/O), every catalog control is judged from the
// observations (package controls, pure), and the verdicts become the result
// with its summary, findings and backlog (package scoring, package result).
package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/collect"
	"github.com/hardgate/hardgate/internal/controls"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/scoring"
	"github.com/hardgate/hardgate/internal/spec"
)

// Options configure a run. Zero values pick real defaults; tests inject
// the clock and the id so results are deterministic.
type Options struct {
	// Catalog is the control catalog; nil loads the embedded one.
	Catalog *catalog.Catalog
	// Now is the clock.
	Now func() time.Time
	// NewID returns the audit id.
	NewID func() string
	// ToolVersion is written into the result.
	ToolVersion string
	// Logger receives per-probe debug lines.
	Logger *slog.Logger
}

// NewAuditID returns a random audit id, "hg-" and 16 hex digits.
func NewAuditID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "hg-" + hex.EncodeToString(b[:])
}

// Plan is a target ready to audit: validated, with what it refers to
// (secrets, trust anchors) resolved.
type Plan struct {
	target *spec.Target
	inputs *collect.Inputs
}

// Prepare validates t and resolves what it refers to. Every problem is
// returned, joined, each a *spec.FieldError naming the field and value.
// t must be complete (spec.Parse, or Complete for a spec built by hand).
func Prepare(t *spec.Target) (*Plan, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	in, err := collect.Resolve(t)
	if err != nil {
		return nil, err
	}
	return &Plan{target: t, inputs: in}, nil
}

// Run prepares t and audits it (see Plan.Run).
func Run(ctx context.Context, t *spec.Target, opts Options) (*result.Result, error) {
	p, err := Prepare(t)
	if err != nil {
		return nil, fmt.Errorf("invalid target:\n%w", err)
	}
	return p.Run(ctx, opts)
}

// Run audits the planned target. The error is only for problems that
// prevent an audit (catalog, spec); what probes meet is in the result, as
// error statuses where a control could not be decided.
func (p *Plan) Run(ctx context.Context, opts Options) (*result.Result, error) {
	if opts.Catalog == nil {
		cat, err := catalog.Load()
		if err != nil {
			return nil, fmt.Errorf("load catalog: %w", err)
		}
		opts.Catalog = cat
	}
	if err := controls.CheckRegistry(opts.Catalog); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = NewAuditID
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	t := p.target
	res := &result.Result{
		SchemaVersion: result.SchemaVersion,
		Tool:          result.Tool{Name: "hardgate", Version: opts.ToolVersion},
		AuditID:       opts.NewID(),
		StartedAt:     opts.Now().UTC(),
		Target:        resultTarget(t),
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(t.Timeouts.Audit))
	defer cancel()

	obs, err := collect.Collect(ctx, t, p.inputs, res.AuditID, opts.Logger)
	if err != nil {
		return nil, err
	}
	res.Target.ConfigFiles = obs.ConfigFiles
	for _, ep := range obs.TLS {
		res.Target.TLSAddrs = append(res.Target.TLSAddrs, ep.Address)
	}
	if obs.HealthURL != "" {
		res.Target.HealthURL = obs.HealthURL
	}
	res.Controls = controls.Evaluate(obs, opts.Catalog, opts.Logger)
	res.FinishedAt = opts.Now().UTC()
	scoring.Summarize(res, opts.Catalog)
	return res, nil
}

// resultTarget is the target as the result names it.
func resultTarget(t *spec.Target) result.Target {
	return result.Target{
		Name:        t.Name,
		IngestURLs:  append([]string{}, t.Ingest.URLs...),
		HealthURL:   t.Ingest.HealthURL,
		CAFile:      t.Ingest.CAFile,
		TokenEnv:    t.Ingest.TokenEnv,
		MQTTURLs:    append([]string(nil), t.MQTT.URLs...),
		ConfigFiles: []result.ConfigFile{},
	}
}
