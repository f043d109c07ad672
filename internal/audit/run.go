// Package audit runs an audit: it takes a target spec, runs the probes the
// target names, judges every catalog control with the evaluation registered
// under its id, and builds the result (summary, findings, backlog).
package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/result"
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

// Run audits t. The target must have passed Validate. The error is only for
// problems that prevent an audit (catalog, spec); what probes meet is in the
// result, as error statuses where a control could not be decided.
func Run(ctx context.Context, t *Target, opts Options) (*result.Result, error) {
	if opts.Catalog == nil {
		cat, err := catalog.Load()
		if err != nil {
			return nil, fmt.Errorf("load catalog: %w", err)
		}
		opts.Catalog = cat
	}
	if err := CheckRegistry(opts.Catalog); err != nil {
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
	t.ApplyDefaults()
	res := &result.Result{
		SchemaVersion: result.SchemaVersion,
		Tool:          result.Tool{Name: "hardgate", Version: opts.ToolVersion},
		AuditID:       opts.NewID(),
		StartedAt:     opts.Now().UTC(),
		Target: result.Target{
			Name:        t.Name,
			IngestURLs:  append([]string{}, t.Ingest.URLs...),
			HealthURL:   t.Ingest.HealthURL,
			CAFile:      t.Ingest.CAFile,
			TokenEnv:    t.Ingest.TokenEnv,
			MQTTURLs:    append([]string(nil), t.MQTT.URLs...),
			ConfigFiles: []result.ConfigFile{},
		},
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(t.Timeouts.Audit))
	defer cancel()

	col, err := newCollector(t, res.AuditID)
	if err != nil {
		return nil, err
	}
	obs, files, err := col.collect(ctx)
	if err != nil {
		return nil, err
	}
	res.Target.ConfigFiles = append(res.Target.ConfigFiles, files...)
	for _, ep := range obs.TLS {
		res.Target.TLSAddrs = append(res.Target.TLSAddrs, ep.Address)
	}
	if obs.HealthURL != "" {
		res.Target.HealthURL = obs.HealthURL
	}

	for i := range opts.Catalog.Controls {
		c := &opts.Catalog.Controls[i]
		v := registry[c.ID](obs, c)
		if v.Evidence == nil {
			v.Evidence = []result.Evidence{}
		}
		opts.Logger.Debug("control evaluated", "id", c.ID, "status", v.Status, "reason", v.Reason)
		res.Controls = append(res.Controls, result.ControlResult{
			ID: c.ID, Title: c.Title, Severity: c.Severity, Domains: c.Domains,
			Status: v.Status, Reason: v.Reason, Evidence: v.Evidence,
		})
	}
	res.FinishedAt = opts.Now().UTC()
	Summarize(res, opts.Catalog)
	return res, nil
}
