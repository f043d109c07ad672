package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/fleet/fleettest"
	"github.com/hardgate/hardgate/internal/poll"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/store"
)

// fleetEntry is one gateway of a test fleet file.
type fleetEntry struct {
	name, site, url string
	// deadline is the entry's own timeouts (request = audit), or 0.
	deadline time.Duration
}

func writeTestFleet(t *testing.T, dir string, entries ...fleetEntry) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "defaults:\n  ingest: {ca_file: ca.pem, token_env: %s}\n  timeouts: {request: 3s, audit: 20s}\ntargets:\n", fleettest.TokenEnv)
	for _, e := range entries {
		fmt.Fprintf(&b, "  - name: %s\n    labels: {site: %s}\n    ingest: {urls: [%q]}\n", e.name, e.site, e.url)
		if e.deadline > 0 {
			fmt.Fprintf(&b, "    timeouts: {request: %s, audit: %s}\n", e.deadline, e.deadline)
		}
	}
	return fleettest.WriteFile(t, dir, "fleet.yaml", b.String())
}

func readFleetJSON(t *testing.T, dir string) *result.Fleet {
	t.Helper()
	sum, err := readFleetSummary(filepath.Join(dir, "fleet.json"))
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func statuses(sum *result.Fleet) map[string]string {
	out := map[string]string{}
	for _, tg := range sum.Targets {
		out[tg.Name] = tg.Status
	}
	return out
}

func TestFleetAuditOfAMixedFleet(t *testing.T) {
	dir := t.TempDir()
	ca := fleettest.NewCA(t, dir)
	fleettest.SetToken(t)
	silent := fleettest.NewSilent(t)
	file := writeTestFleet(t, dir,
		fleetEntry{"strong-1", "plant-1", ca.Strong(t), 0},
		fleetEntry{"open-1", "plant-1", fleettest.Open(t), 0},
		fleetEntry{"silent-1", "plant-2", "https://" + silent.Addr + "/v1/ingest", 2 * time.Second},
	)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI(t, "audit", "--fleet", file, "--out-dir", out, "--parallel", "3", "--progress", "lines")
	if code != exitFindings {
		t.Fatalf("exit %d, want 1 (a gateway fails)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	sum := readFleetJSON(t, out)
	st := sum.Totals.Statuses
	if sum.Status != "FAIL" || sum.Totals.Targets != 3 || st["pass"] != 1 || st["fail"] != 1 || st["inconclusive"] != 1 || st["error"] != 0 {
		t.Fatalf("fleet.json %s %v, want FAIL with 1 pass, 1 fail, 1 inconclusive", sum.Status, st)
	}
	if got := statuses(sum); got["strong-1"] != "pass" || got["open-1"] != "fail" || got["silent-1"] != "inconclusive" {
		t.Errorf("statuses %v", got)
	}
	if lines := strings.Count(stderr, "/3] "); lines != 3 {
		t.Errorf("%d progress lines, want one per target:\n%s", lines, stderr)
	}
	if !strings.Contains(stdout, "hardgate fleet: FAIL") || !strings.Contains(stdout, "fleet.html") {
		t.Errorf("stdout lacks the summary:\n%s", stdout)
	}
	for _, tg := range sum.Targets {
		if tg.ResultPath != "results/"+tg.Name+".json" || tg.HTMLPath != "results/"+tg.Name+".html" {
			t.Errorf("%s: paths %q %q", tg.Name, tg.ResultPath, tg.HTMLPath)
		}
		res, err := readResult(filepath.Join(out, tg.ResultPath))
		if err != nil || res.Target.Name != tg.Name || res.AuditID != tg.AuditID {
			t.Errorf("%s: result %v %v", tg.Name, res, err)
		}
	}
	for _, p := range []string{"fleet.json", "fleet.html", "fleet.md", "results/strong-1.json", "results/open-1.html"} {
		fi, err := os.Stat(filepath.Join(out, p))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v mode %v, want 0600", p, err, fi)
		}
	}
	for _, p := range []string{out, filepath.Join(out, "results")} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, want a 0700 folder", p, err)
		}
	}

	t.Run("a label keeps the matching gateways", func(t *testing.T) {
		out2 := filepath.Join(dir, "plant-2")
		code, _, stderr := runCLI(t, "audit", "--fleet", file, "--out-dir", out2, "--label", "site=plant-2", "--progress", "none")
		if code != exitInconclusive {
			t.Fatalf("exit %d, want 3 (only the silent gateway)\n%s", code, stderr)
		}
		sum := readFleetJSON(t, out2)
		if got := statuses(sum); len(got) != 1 || got["silent-1"] != "inconclusive" || fmt.Sprint(sum.Selectors) != "[site=plant-2]" {
			t.Errorf("statuses %v selectors %v", got, sum.Selectors)
		}
	})
}

func TestFleetAuditUsageErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeTestFleet(t, dir, fleetEntry{"gw-1", "a", "https://127.0.0.1:1/v1/ingest", 0})
	bad := fleettest.WriteFile(t, dir, "bad.yaml", "targets:\n  - name: gw-1\n    ingest: {urls: [ftp://127.0.0.1/]}\n")
	notDir := fleettest.WriteFile(t, dir, "file", "x")
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"--out-dir is required", []string{"--fleet", good}, "--out-dir DIR is required"},
		{"a missing fleet file is a usage error", []string{"--fleet", filepath.Join(dir, "none.yaml"), "--out-dir", dir}, "no such file"},
		{"an invalid fleet names the entry and field", []string{"--fleet", bad, "--out-dir", dir}, `targets[0] (gw-1) at line 2: ingest.urls[0]: scheme must be http or https`},
		{"a label nothing matches is a usage error", []string{"--fleet", good, "--out-dir", dir, "--label", "site=nowhere"}, "no gateway of"},
		{"a malformed label is a usage error", []string{"--fleet", good, "--out-dir", dir, "--label", "site"}, "want key=value"},
		{"--parallel 0 is refused", []string{"--fleet", good, "--out-dir", dir, "--parallel", "0"}, "--parallel 0"},
		{"a single-audit flag is refused", []string{"--fleet", good, "--out-dir", dir, "--url", "https://127.0.0.1/"}, "flag provided but not defined: -url"},
		{"an out-dir that is a file is refused", []string{"--fleet", good, "--out-dir", notDir}, "--out-dir"},
		{"an unknown progress mode is refused", []string{"--fleet", good, "--out-dir", dir, "--progress", "loud"}, "--progress"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"audit"}, tt.args...)...)
			if code != exitUsage || !strings.Contains(stderr, tt.wantErr) {
				t.Fatalf("exit %d, stderr:\n%s\nwant 2 and %q", code, stderr, tt.wantErr)
			}
		})
	}
}

func TestFleetAuditInterruptedWritesTheSummaryOfWhatCompleted(t *testing.T) {
	dir := t.TempDir()
	ca := fleettest.NewCA(t, dir)
	fleettest.SetToken(t)
	s1, s2, s3 := fleettest.NewSilent(t), fleettest.NewSilent(t), fleettest.NewSilent(t)
	file := writeTestFleet(t, dir,
		fleetEntry{"strong-1", "a", ca.Strong(t), 0},
		fleetEntry{"silent-1", "a", "https://" + s1.Addr + "/v1/ingest", 30 * time.Second},
		fleetEntry{"silent-2", "a", "https://" + s2.Addr + "/v1/ingest", 30 * time.Second},
		fleetEntry{"silent-3", "a", "https://" + s3.Addr + "/v1/ingest", 30 * time.Second},
	)
	out := filepath.Join(dir, "out")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type ran struct {
		code           int
		stdout, stderr string
	}
	done := make(chan ran, 1)
	go func() {
		var stdout, stderr bytes.Buffer
		code := run(ctx, []string{"audit", "--fleet", file, "--out-dir", out, "--parallel", "2", "--progress", "lines"}, &stdout, &stderr)
		done <- ran{code, stdout.String(), stderr.String()}
	}()
	poll.Until(t, "strong-1 written and two silent gateways audited", func() bool {
		_, err := os.Stat(filepath.Join(out, "results", "strong-1.json"))
		return err == nil && s1.Accepted() > 0 && s2.Accepted() > 0
	}, poll.Timeout(60*time.Second))
	start := time.Now()
	cancel() // what the first Ctrl-C does through main's signal context
	var r ran
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the fleet audit did not stop within 20s of the interrupt")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stopping took %s; running audits must be cancelled, not waited for", d)
	}
	if r.code != exitInconclusive || !strings.Contains(r.stderr, "stopped early (interrupt)") {
		t.Fatalf("exit %d, want 3\nstderr:\n%s", r.code, r.stderr)
	}
	sum := readFleetJSON(t, out)
	want := map[string]string{"strong-1": "pass", "silent-1": "cancelled", "silent-2": "cancelled", "silent-3": "skipped"}
	if got := statuses(sum); fmt.Sprint(got) != fmt.Sprint(want) || sum.Interrupted != "interrupt" {
		t.Fatalf("statuses %v interrupted %q, want %v", got, sum.Interrupted, want)
	}
	if s3.Accepted() != 0 {
		t.Error("a gateway was contacted after the interrupt")
	}
	if _, err := os.Stat(filepath.Join(out, "results", "silent-1.json")); !os.IsNotExist(err) {
		t.Errorf("a cancelled audit left a result: %v", err)
	}
}

func TestDiffAndHistoryOfTwoFleetAudits(t *testing.T) {
	dir := t.TempDir()
	ca := fleettest.NewCA(t, dir)
	fleettest.SetToken(t)
	strongA, strongB, strongC, open := ca.Strong(t), ca.Strong(t), ca.Strong(t), fleettest.Open(t)
	audit := func(name string, entries ...fleetEntry) string {
		t.Helper()
		sub := filepath.Join(dir, name)
		if err := os.MkdirAll(sub, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, "ca.pem"), mustRead(t, ca.File), 0o600); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(sub, "out")
		code, _, stderr := runCLI(t, "audit", "--fleet", writeTestFleet(t, sub, entries...), "--out-dir", out, "--progress", "none")
		if code != exitOK && code != exitFindings {
			t.Fatalf("%s: exit %d\n%s", name, code, stderr)
		}
		return out
	}
	old := audit("old", fleetEntry{"gw-a", "x", strongA, 0}, fleetEntry{"gw-b", "x", open, 0}, fleetEntry{"gw-c", "x", strongC, 0})
	// gw-a now serves plaintext (regressed), gw-b was hardened (improved),
	// gw-c is gone and gw-d is new.
	cur := audit("new", fleetEntry{"gw-a", "x", open, 0}, fleetEntry{"gw-b", "x", strongB, 0}, fleetEntry{"gw-d", "x", strongC, 0})

	code, stdout, stderr := runCLI(t, "diff", filepath.Join(old, "fleet.json"), filepath.Join(cur, "fleet.json"), "--format", "json")
	if code != exitFindings || !strings.Contains(stderr, "1 gateways regressed (gw-a)") {
		t.Fatalf("exit %d, want 1 on a regression\nstderr: %s", code, stderr)
	}
	var d struct {
		Regressed, Improved, Added, Removed []string
		Gateways                            []struct {
			Name, Compared    string
			RegressedControls []string `json:"regressed_controls"`
		}
		Posture struct{ Before, After string }
	}
	if err := json.Unmarshal([]byte(stdout), &d); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(d.Regressed, d.Improved, d.Added, d.Removed) != "[gw-a] [gw-b] [gw-d] [gw-c]" || d.Posture.Before != "red" || d.Posture.After != "red" {
		t.Fatalf("delta %+v", d)
	}
	for _, g := range d.Gateways {
		if g.Name == "gw-a" && (g.Compared != "controls" || !strings.Contains(strings.Join(g.RegressedControls, " "), "ingest_auth.insecure_transport")) {
			t.Errorf("gw-a: %+v, want insecure_transport regressed, compared by controls", g)
		}
	}
	for _, format := range []string{"text", "md", "html"} {
		code, stdout, _ := runCLI(t, "diff", filepath.Join(old, "fleet.json"), filepath.Join(cur, "fleet.json"), "--format", format)
		if code != exitFindings || !strings.Contains(stdout, "gw-a") {
			t.Errorf("%s: exit %d\n%s", format, code, stdout)
		}
	}
	t.Run("a fleet summary and a result are not compared", func(t *testing.T) {
		code, _, stderr := runCLI(t, "diff", filepath.Join(old, "fleet.json"), filepath.Join(cur, "results", "gw-a.json"))
		if code != exitUsage || !strings.Contains(stderr, "not both fleet summaries") {
			t.Errorf("exit %d: %s", code, stderr)
		}
	})

	t.Run("history add stores a fleet folder in one go", func(t *testing.T) {
		db := filepath.Join(dir, "history.db")
		code, stdout, stderr := runCLI(t, "history", "add", "--db", db, cur)
		if code != exitOK || strings.Count(stdout, "added") != 3 {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
		s, err := store.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		entries, err := s.List(context.Background(), store.Filter{})
		if err != nil || len(entries) != 3 {
			t.Fatalf("%d entries (%v), want the 3 results of the fleet", len(entries), err)
		}
		if code, _, stderr := runCLI(t, "history", "add", "--db", db, dir); code != exitUsage || !strings.Contains(stderr, "without fleet.json") {
			t.Errorf("a folder without fleet.json: exit %d %s", code, stderr)
		}
	})
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
