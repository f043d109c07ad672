// Package demo runs hardgate's worked example end to end on loopback: the
// real ingestd in its legacy "before" state, an audit, the hardening sprint
// (restart in the "after" state with generated certificates and a device
// token), a second audit, and the delta. Nothing is mocked; every request
// goes to 127.0.0.1 on ephemeral ports.
package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hardgate/hardgate/examples"
	"github.com/hardgate/hardgate/internal/audit"
	"github.com/hardgate/hardgate/internal/delta"
	"github.com/hardgate/hardgate/internal/gateway/auth"
	"github.com/hardgate/hardgate/internal/outfile"
	"github.com/hardgate/hardgate/internal/pki"
	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/scoring"
	"github.com/hardgate/hardgate/internal/spec"
)

// TokenEnv is the variable the demo puts the device token in for the audit.
const TokenEnv = "HARDGATE_DEMO_TOKEN"

// Options configure a demo run.
type Options struct {
	// Dir receives before/after/delta JSON, Markdown and HTML.
	Dir string
	// ToolVersion is written into the results.
	ToolVersion string
	// Out receives the story.
	Out io.Writer
	// Logger receives ingestd's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock of both audits (the generated certificates always
	// use the real clock, so TLS verification works); nil is time.Now. Tests
	// inject a fixed clock for deterministic results.
	Now func() time.Time
	// NewID returns the audit ids, called once per audit (before, then
	// after); nil is audit.NewAuditID.
	NewID func() string
	// WorkDir receives the generated configs, certificates, device tokens
	// and stores, and is kept afterwards; empty means a temporary directory
	// that is removed at the end.
	WorkDir string
}

// Outcome is what the demo produced, for callers and tests.
type Outcome struct {
	Before, After *result.Result
	Delta         *delta.Delta
	// Unauthenticated and Authenticated are the after-state status codes of
	// POST /v1/ingest without and with the device token; Health of GET /healthz.
	Unauthenticated, Authenticated, Health int
	Files                                  []string
}

// Run runs the worked example.
func Run(ctx context.Context, opts Options) (*Outcome, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create output dir: %w", err)
	}
	work := opts.WorkDir
	if work == "" {
		tmp, err := os.MkdirTemp("", "hardgate-demo-")
		if err != nil {
			return nil, fmt.Errorf("create work dir: %w", err)
		}
		defer os.RemoveAll(tmp)
		work = tmp
	} else if err := os.MkdirAll(work, 0o700); err != nil {
		return nil, fmt.Errorf("create work dir: %w", err)
	}
	s := &story{opts: opts, work: work, p: &printer{w: opts.Out}, out: &Outcome{}}
	if err := s.before(ctx); err != nil {
		return nil, err
	}
	if err := s.after(ctx); err != nil {
		return nil, err
	}
	if err := s.retainer(); err != nil {
		return nil, err
	}
	return s.out, s.p.err
}

// story is one run of the worked example, step by step.
type story struct {
	opts Options
	work string
	p    *printer
	out  *Outcome
}

// before audits ingestd in its legacy state.
func (s *story) before(ctx context.Context) error {
	s.p.step("Audit", "ingestd in the legacy state of examples/gateway-hardening/before (plaintext, no auth, unsafe settings silenced)")
	cfgPath, err := writeConfig(s.work, "before", examples.BeforeConfig, map[string]string{"listen.http": freeAddr(), "store.dir": filepath.Join(s.work, "before-store")})
	if err != nil {
		return err
	}
	stop, cfg, err := startGateway(ctx, cfgPath, s.opts)
	if err != nil {
		return fmt.Errorf("start ingestd (before): %w", err)
	}
	defer stop()
	s.out.Before, err = runAudit(ctx, spec.Target{
		Name:    "plant-gateway",
		Ingest:  spec.Ingest{URLs: []string{"http://" + cfg.Listen.HTTP + "/v1/ingest"}},
		Gateway: spec.Gateway{ConfigFile: cfgPath, Kind: spec.KindIngestd},
	}, s.opts)
	if err != nil {
		return err
	}
	s.p.result("before", s.out.Before)
	return nil
}

// after runs the sprint (certificates, a device token, the hardened
// config) and audits ingestd again.
func (s *story) after(ctx context.Context) error {
	s.p.step("Sprint", "restart ingestd in the hardened state of examples/gateway-hardening/after: HTTPS with a generated CA, bearer tokens, guardrails on")
	certs, err := pki.WriteFiles(s.work, time.Now())
	if err != nil {
		return fmt.Errorf("generate certificates: %w", err)
	}
	tokens := filepath.Join(s.work, "tokens.yaml")
	token, err := auth.AddToken(tokens, "demo-device-01")
	if err != nil {
		return fmt.Errorf("create device token: %w", err)
	}
	s.p.line("  created device token for demo-device-01 (stored as a salted hash in tokens.yaml)")
	cfgPath, err := writeConfig(s.work, "after", examples.AfterConfig, map[string]string{
		"listen.https": freeAddr(), "store.dir": filepath.Join(s.work, "after-store"),
		"tls.cert_file": certs.Cert, "tls.key_file": certs.Key, "auth.tokens_file": tokens,
	})
	if err != nil {
		return err
	}
	stop, cfg, err := startGateway(ctx, cfgPath, s.opts)
	if err != nil {
		return fmt.Errorf("start ingestd (after): %w", err)
	}
	defer stop()
	if err := os.Setenv(TokenEnv, token); err != nil {
		return err
	}
	defer os.Unsetenv(TokenEnv)
	s.out.After, err = runAudit(ctx, spec.Target{
		Name: "plant-gateway",
		Ingest: spec.Ingest{URLs: []string{"https://" + cfg.Listen.HTTPS + "/v1/ingest"},
			CAFile: certs.CA, TokenEnv: TokenEnv},
		Gateway: spec.Gateway{ConfigFile: cfgPath, Kind: spec.KindIngestd},
	}, s.opts)
	if err != nil {
		return err
	}
	o := s.out
	o.Unauthenticated, o.Authenticated, o.Health = runtimeCodes(o.After)
	s.p.line(fmt.Sprintf("  runtime verification: POST /v1/ingest without token → %d; with the device token → %d; GET /healthz → %d",
		o.Unauthenticated, o.Authenticated, o.Health))
	s.p.result("after", o.After)
	return nil
}

// retainer compares the two audits and writes the artifacts.
func (s *story) retainer() error {
	s.p.step("Retainer", "diff before → after; the after result becomes the reference baseline")
	d, err := delta.Compare(s.out.Before, s.out.After, delta.Options{})
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	s.out.Delta = d
	s.p.line(fmt.Sprintf("  delta: %d improved, %d regressions, %d still failing; posture %s → %s, risk %d → %d",
		len(d.Improved), len(d.Regressed), len(d.StillFailing), d.Posture.Before, d.Posture.After, d.Risk.Before, d.Risk.After))
	for _, id := range d.Improved {
		s.p.line("    improved: " + id)
	}
	if s.out.Files, err = writeArtifacts(s.opts.Dir, s.out.Before, s.out.After, d); err != nil {
		return err
	}
	s.p.line("")
	s.p.line("Wrote " + strings.Join(s.out.Files, ", ") + " in " + s.opts.Dir)
	s.p.line("Gate a later release on the baseline: hardgate audit ... --baseline " + filepath.Join(s.opts.Dir, "after.json"))
	return nil
}

func runAudit(ctx context.Context, t spec.Target, opts Options) (*result.Result, error) {
	t.Complete()
	res, err := audit.Run(ctx, &t, audit.Options{ToolVersion: opts.ToolVersion, Now: opts.Now, NewID: opts.NewID})
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return res, nil
}

// runtimeCodes reads the after audit's evidence: the anonymous POST, the
// POST with the token, and the health GET.
func runtimeCodes(res *result.Result) (unauth, authed, health int) {
	for _, c := range res.Controls {
		if len(c.Evidence) == 0 || c.Evidence[0].HTTP == nil {
			continue
		}
		code := c.Evidence[0].HTTP.StatusCode
		switch c.ID {
		case "ingest_auth.unauthenticated_ingest_allowed":
			unauth = code
		case "ingest_auth.authenticated_ingest_rejected":
			authed = code
		case "gateway_runtime.health_unavailable":
			health = code
		}
	}
	return unauth, authed, health
}

func writeArtifacts(dir string, before, after *result.Result, d *delta.Delta) ([]string, error) {
	var files []string
	write := func(name string, render func(io.Writer) error) error {
		var buf bytes.Buffer
		if err := render(&buf); err != nil {
			return fmt.Errorf("render %s: %w", name, err)
		}
		files = append(files, name)
		return outfile.Write(filepath.Join(dir, name), buf.Bytes())
	}
	for _, r := range []struct {
		name string
		res  *result.Result
	}{{"before", before}, {"after", after}} {
		for _, format := range []string{"json", "md", "html"} {
			if err := write(r.name+"."+format, func(w io.Writer) error { return report.Render(w, r.res, format, report.RenderOptions{}) }); err != nil {
				return nil, err
			}
		}
	}
	for _, format := range []string{"json", "md", "html"} {
		if err := write("delta."+format, func(w io.Writer) error { return delta.Render(w, d, format, delta.RenderOptions{}) }); err != nil {
			return nil, err
		}
	}
	return files, nil
}

type printer struct {
	w   io.Writer
	n   int
	err error
}

func (p *printer) line(s string) {
	if p.err == nil {
		_, p.err = fmt.Fprintln(p.w, s)
	}
}

func (p *printer) step(name, what string) {
	p.n++
	p.line("")
	p.line(fmt.Sprintf("%d. %s: %s", p.n, name, what))
}

func (p *printer) result(label string, res *result.Result) {
	s := res.Summary
	p.line(fmt.Sprintf("  %s: %s, posture %s, risk score %d, %d findings (%s), %d backlog items",
		label, s.Status, s.Posture, s.RiskScore, s.Findings, scoring.CountsText(s.SeverityCounts), len(res.Backlog)))
	for _, f := range res.Findings {
		p.line(fmt.Sprintf("    [%s] %s: %s", f.Severity, f.ID, f.Reason))
	}
	for _, d := range s.Domains {
		p.line(fmt.Sprintf("    %-26s %s", d.Name, d.Posture))
	}
}
