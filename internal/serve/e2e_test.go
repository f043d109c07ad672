package serve

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/auth"
	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/server"
	"github.com/hardgate/hardgate/internal/pki"
	"github.com/hardgate/hardgate/internal/spec"
	"github.com/hardgate/hardgate/internal/store"
)

// gateway is a real ingestd (internal/gateway/server) on loopback.
type gateway struct {
	name, dir, cfgPath, addr string
	srv                      *server.Server
	pki                      pki.Files
}

const hardenedGateway = `listen: {https: %q}
tls: {cert_file: %q, key_file: %q, min_version: "1.2"}
auth: {mode: bearer, tokens_file: %q}
store: {dir: %q}
`

// A redeploy with auth switched off, announced and allowed: the drift the
// retainer must catch.
const authOffGateway = hardenedGateway + `guardrails: {allow_unsafe: [auth_none]}
`

func startGateway(t *testing.T, name string) *gateway {
	t.Helper()
	g := &gateway{name: name, dir: t.TempDir()}
	var err error
	if g.pki, err = pki.WriteFiles(g.dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	token, err := auth.AddToken(filepath.Join(g.dir, "tokens.yaml"), name+"-device")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(tokenEnv(name), token)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.addr = ln.Addr().String()
	ln.Close()
	g.cfgPath = filepath.Join(g.dir, "ingestd.yaml")
	g.run(t, hardenedGateway, "")
	return g
}

func tokenEnv(name string) string {
	return "HG_E2E_TOKEN_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// run (re)starts the gateway from a config written from tmpl.
func (g *gateway) run(t *testing.T, tmpl, mode string) {
	t.Helper()
	text := fmt.Sprintf(tmpl, g.addr, g.pki.Cert, g.pki.Key, filepath.Join(g.dir, "tokens.yaml"), filepath.Join(g.dir, "store"))
	if mode != "" {
		text = strings.Replace(text, "mode: bearer", "mode: "+mode, 1)
	}
	if err := os.WriteFile(g.cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(g.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if g.srv != nil {
		g.stop()
	}
	g.srv, err = server.New(cfg, server.Options{Version: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.stop)
}

func (g *gateway) stop() {
	if g.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = g.srv.Shutdown(ctx)
	g.srv = nil
}

func (g *gateway) target() Target {
	sp := spec.Target{
		Name:     g.name,
		Ingest:   spec.Ingest{URLs: []string{"https://" + g.addr + "/v1/ingest"}, CAFile: g.pki.CA, TokenEnv: tokenEnv(g.name)},
		Gateway:  spec.Gateway{ConfigFile: g.cfgPath, Kind: spec.KindIngestd},
		Timeouts: spec.Timeouts{Request: spec.Duration(2 * time.Second), Audit: spec.Duration(20 * time.Second)},
	}
	sp.Complete()
	return Target{Name: g.name, Labels: map[string]string{"site": "plant-1"}, Spec: &sp}
}

// liveService is a service running with its dashboard on loopback.
type liveService struct {
	svc    *Service
	url    string
	cancel context.CancelFunc
	done   chan struct{}
}

func startLive(t *testing.T, cfg *Config, st *store.Store, tgts []Target) *liveService {
	t.Helper()
	svc, err := New(context.Background(), cfg, Options{Targets: tgts, Store: st, Logger: testLogger(t), ToolVersion: "e2e",
		Getenv: func(string) string { return testSecret }})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &liveService{svc: svc, url: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan struct{})}
	served := make(chan struct{})
	go func() { svc.Serve(ctx, ln); close(served) }()
	go func() { svc.Run(ctx); <-served; close(l.done) }()
	t.Cleanup(l.stop)
	return l
}

func (l *liveService) stop() {
	l.cancel()
	<-l.done
}

func (l *liveService) fetch(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get(l.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	return string(body)
}

// audits counts the stored audits of target.
func audits(t *testing.T, st *store.Store, target string) int {
	all, err := st.List(context.Background(), store.Filter{Target: target})
	if err != nil {
		t.Fatal(err)
	}
	return len(all)
}

// TestEndToEnd: three real gateways on a 1 s schedule; one is redeployed
// with auth off mid-test; the webhook gets exactly one signed regression
// alert; metrics and the dashboard show it; a restarted serve keeps the
// history and does not alert again.
func TestEndToEnd(t *testing.T) {
	gws := []*gateway{startGateway(t, "gw-1"), startGateway(t, "gw-2"), startGateway(t, "gw-3")}
	var tgts []Target
	for _, g := range gws {
		tgts = append(tgts, g.target())
	}
	r := newReceiver(t)
	cfg := testConfig(t, "schedule: {every: 1s, jitter: 0s}\nconcurrency: 3\nshutdown_grace: 5s\nalerts:\n  webhook: {url: \""+r.srv.URL+"/hook\", secret_env: HOOK_SECRET}\n")
	dbPath := filepath.Join(t.TempDir(), "history.db")
	st := openStore(t, dbPath)
	live := startLive(t, cfg, st, tgts)
	live.svc.webhook.base = 50 * time.Millisecond

	waitFor(t, "two passing audits of every gateway", func() bool {
		for _, g := range gws {
			s := live.svc.status(g.name)
			if len(s.Recent) < 2 || s.Drift != StatePassing {
				return false
			}
		}
		return true
	})
	for _, g := range gws {
		if s := live.svc.status(g.name); s.Latest.Status != "PASS" || s.Baseline == nil {
			t.Fatalf("%s: %+v", g.name, s)
		}
	}

	// gw-2 is redeployed with authentication off.
	gws[1].run(t, authOffGateway, "none")
	waitFor(t, "the regression alert", func() bool { return len(r.received()) >= 1 })
	regressedAt := audits(t, st, "gw-2")
	waitFor(t, "two more audits of the regressed gateway", func() bool { return audits(t, st, "gw-2") >= regressedAt+2 })
	if got := r.events(); got != "regression:gw-2" || len(r.bad) > 0 {
		t.Fatalf("alerts %q (bad %v), want exactly one signed regression of gw-2", got, r.bad)
	}
	alert := r.received()[0]
	if !contains(alert.Regressed, "ingest_auth.unauthenticated_ingest_allowed") || alert.RiskBefore != 0 || alert.RiskAfter == 0 {
		t.Errorf("regression alert %+v", alert)
	}

	metrics := live.fetch(t, "/metrics")
	for _, want := range []string{`hardgate_target_regressed{target="gw-2"} 1`, `hardgate_target_regressed{target="gw-1"} 0`,
		`hardgate_regressions_total{target="gw-2"} 1`, `hardgate_target_status{status="FAIL",target="gw-2"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	overview := live.fetch(t, "/")
	row := overview[strings.Index(overview, `data-target="gw-2"`):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, "regression-badge") || strings.Contains(overview[strings.Index(overview, `data-target="gw-1"`):], "regression-badge") {
		t.Errorf("the overview does not flag gw-2 alone:\n%s", row)
	}
	if page := live.fetch(t, "/targets/gw-2"); !strings.Contains(page, "ingest_auth.unauthenticated_ingest_allowed") {
		t.Error("the target page does not list the regressed control")
	}
	live.stop()
	before := audits(t, st, "gw-2")

	// A restart keeps the history and does not alert again.
	st.Close()
	st = openStore(t, dbPath)
	live = startLive(t, cfg, st, tgts)
	live.svc.webhook.base = 50 * time.Millisecond
	if s := live.svc.status("gw-2"); s.Drift != StateRegressed || s.Latest == nil || len(s.Recent) < before || s.Recent[0].Status != "PASS" {
		t.Errorf("after restart gw-2 is %+v", s)
	}
	waitFor(t, "two audits after the restart", func() bool { return audits(t, st, "gw-2") >= before+2 })
	if got := r.events(); got != "regression:gw-2" {
		t.Errorf("alerts after the restart %q, want still the one regression", got)
	}
	runs, _ := st.Runs(context.Background(), "gw-2", 0)
	for _, run := range runs {
		if run.State == store.RunRunning && run.ID < runs[0].ID-3 {
			t.Errorf("run %d left running", run.ID)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
