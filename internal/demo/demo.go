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
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hardgate/hardgate/examples"
	"github.com/hardgate/hardgate/internal/audit"
	"github.com/hardgate/hardgate/internal/delta"
	"github.com/hardgate/hardgate/internal/gateway/auth"
	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/server"
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
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
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
	p := &printer{w: opts.Out}
	out := &Outcome{}

	p.step("Audit", "ingestd in the legacy state of examples/gateway-hardening/before (plaintext, no auth, unsafe settings silenced)")
	beforeCfg, err := writeConfig(work, "before", examples.BeforeConfig, map[string]string{"listen.http": freeAddr(), "store.dir": filepath.Join(work, "before-store")})
	if err != nil {
		return nil, err
	}
	stop, cfg, err := startGateway(ctx, beforeCfg, opts)
	if err != nil {
		return nil, fmt.Errorf("start ingestd (before): %w", err)
	}
	before, err := runAudit(ctx, spec.Target{
		Name:    "plant-gateway",
		Ingest:  spec.Ingest{URLs: []string{"http://" + cfg.Listen.HTTP + "/v1/ingest"}},
		Gateway: spec.Gateway{ConfigFile: beforeCfg, Kind: spec.KindIngestd},
	}, opts)
	stop()
	if err != nil {
		return nil, err
	}
	out.Before = before
	p.result("before", before)

	p.step("Sprint", "restart ingestd in the hardened state of examples/gateway-hardening/after: HTTPS with a generated CA, bearer tokens, guardrails on")
	certs, err := pki.WriteFiles(work, time.Now())
	if err != nil {
		return nil, fmt.Errorf("generate certificates: %w", err)
	}
	tokens := filepath.Join(work, "tokens.yaml")
	token, err := auth.AddToken(tokens, "demo-device-01")
	if err != nil {
		return nil, fmt.Errorf("create device token: %w", err)
	}
	p.line("  created device token for demo-device-01 (stored as a salted hash in tokens.yaml)")
	afterCfg, err := writeConfig(work, "after", examples.AfterConfig, map[string]string{
		"listen.https": freeAddr(), "store.dir": filepath.Join(work, "after-store"),
		"tls.cert_file": certs.Cert, "tls.key_file": certs.Key, "auth.tokens_file": tokens,
	})
	if err != nil {
		return nil, err
	}
	stop, cfg, err = startGateway(ctx, afterCfg, opts)
	if err != nil {
		return nil, fmt.Errorf("start ingestd (after): %w", err)
	}
	defer stop()
	if err := os.Setenv(TokenEnv, token); err != nil {
		return nil, err
	}
	defer os.Unsetenv(TokenEnv)
	after, err := runAudit(ctx, spec.Target{
		Name: "plant-gateway",
		Ingest: spec.Ingest{URLs: []string{"https://" + cfg.Listen.HTTPS + "/v1/ingest"},
			CAFile: certs.CA, TokenEnv: TokenEnv},
		Gateway: spec.Gateway{ConfigFile: afterCfg, Kind: spec.KindIngestd},
	}, opts)
	if err != nil {
		return nil, err
	}
	out.After = after
	out.Unauthenticated, out.Authenticated, out.Health = runtimeCodes(after)
	p.line(fmt.Sprintf("  runtime verification: POST /v1/ingest without token → %d; with the device token → %d; GET /healthz → %d",
		out.Unauthenticated, out.Authenticated, out.Health))
	p.result("after", after)

	p.step("Retainer", "diff before → after; the after result becomes the reference baseline")
	d, err := delta.Compare(before, after, delta.Options{})
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	out.Delta = d
	p.line(fmt.Sprintf("  delta: %d improved, %d regressions, %d still failing; posture %s → %s, risk %d → %d",
		len(d.Improved), len(d.Regressed), len(d.StillFailing), d.Posture.Before, d.Posture.After, d.Risk.Before, d.Risk.After))
	for _, id := range d.Improved {
		p.line("    improved: " + id)
	}
	if out.Files, err = writeArtifacts(opts.Dir, before, after, d); err != nil {
		return nil, err
	}
	p.line("")
	p.line("Wrote " + strings.Join(out.Files, ", ") + " in " + opts.Dir)
	p.line("Gate a later release on the baseline: hardgate audit ... --baseline " + filepath.Join(opts.Dir, "after.json"))
	return out, p.err
}

func runAudit(ctx context.Context, t spec.Target, opts Options) (*result.Result, error) {
	t.Complete()
	plan, err := audit.Prepare(&t)
	if err != nil {
		return nil, fmt.Errorf("demo target: %w", err)
	}
	res, err := plan.Run(ctx, audit.Options{ToolVersion: opts.ToolVersion, Now: opts.Now, NewID: opts.NewID})
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return res, nil
}

// startGateway runs ingestd in-process from the config file at path.
func startGateway(ctx context.Context, path string, opts Options) (func(), config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, cfg, err
	}
	srv, err := server.New(cfg, server.Options{Logger: opts.Logger, Version: opts.ToolVersion})
	if err != nil {
		return nil, cfg, err
	}
	if err := srv.Start(ctx); err != nil {
		return nil, cfg, err
	}
	cfg.Listen.HTTP, cfg.Listen.HTTPS = srv.HTTPAddr(), srv.HTTPSAddr()
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}
	return stop, cfg, nil
}

// freeAddr returns a loopback address with a port that was free a moment
// ago, so the config file the audit reads names the real port.
func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:0"
	}
	defer ln.Close()
	return ln.Addr().String()
}

// writeConfig writes the example config with the given keys replaced,
// keeping its comments and layout, as work/<name>/ingestd.yaml.
func writeConfig(work, name string, example []byte, set map[string]string) (string, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(example, &root); err != nil {
		return "", fmt.Errorf("example %s config: %w", name, err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return "", fmt.Errorf("example %s config is not a mapping", name)
	}
	// Sorted, so keys the example lacks are appended in the same order on
	// every run and the file (and its sha256 in the result) is stable.
	for _, key := range slices.Sorted(maps.Keys(set)) {
		setKey(root.Content[0], strings.Split(key, "."), set[key])
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return "", fmt.Errorf("render %s config: %w", name, err)
	}
	dir := filepath.Join(work, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "ingestd.yaml")
	return path, os.WriteFile(path, buf.Bytes(), 0o600)
}

func setKey(m *yaml.Node, path []string, value string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != path[0] {
			continue
		}
		if len(path) == 1 {
			m.Content[i+1] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}
			return
		}
		if m.Content[i+1].Kind != yaml.MappingNode {
			m.Content[i+1] = &yaml.Node{Kind: yaml.MappingNode}
		}
		setKey(m.Content[i+1], path[1:], value)
		return
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Value: path[0]}
	if len(path) == 1 {
		m.Content = append(m.Content, k, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value})
		return
	}
	child := &yaml.Node{Kind: yaml.MappingNode}
	m.Content = append(m.Content, k, child)
	setKey(child, path[1:], value)
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
		return os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644)
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
