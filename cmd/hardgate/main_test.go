package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/result"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func openGateway(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "{}")
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestCommandLineExitCodes(t *testing.T) {
	open := openGateway(t)
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	badSpec := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(badSpec, []byte("ingest:\n  urlz: []\n"), 0o644)

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"no command prints usage and exits 2", nil, exitUsage, "Usage:"},
		{"an unknown command exits 2", []string{"bogus"}, exitUsage, `unknown command "bogus"`},
		{"audit help has examples and exits 0", []string{"audit", "--help"}, exitOK, "Examples:"},
		{"audit without a target exits 2", []string{"audit"}, exitUsage, "nothing to audit"},
		{"audit with an unknown spec key exits 2 naming it", []string{"audit", "--target", badSpec}, exitUsage, "line 2: ingest.urlz: unknown key; did you mean urls?"},
		{"audit with a missing spec file exits 2", []string{"audit", "--target", "/nonexistent/target.yaml"}, exitUsage, "no such file"},
		{"audit with a bad URL exits 2 naming the flag and the field", []string{"audit", "--url", "ftp://127.0.0.1/"}, exitUsage, "--url: ingest.urls[0]: scheme must be http or https"},
		{"audit with a bad MQTT URL exits 2 naming the flag", []string{"audit", "--mqtt-url", "http://127.0.0.1:1883"}, exitUsage, "--mqtt-url: mqtt.urls[0]"},
		{"audit with a deadline shorter than the timeout names both flags", []string{"audit", "--url", open, "--timeout", "5s", "--deadline", "1s"}, exitUsage, "--deadline/--timeout: timeouts.audit"},
		{"a timeout above the default deadline names both flags", []string{"audit", "--url", open, "--timeout", "2m"}, exitUsage, "--deadline/--timeout: timeouts.audit: must be at least timeouts.request"},
		{"audit with both a spec and quick flags exits 2", []string{"audit", "--target", badSpec, "--url", open}, exitUsage, "exclude each other"},
		{"audit with a bad --fail-on exits 2", []string{"audit", "--url", open, "--fail-on", "urgent"}, exitUsage, "--fail-on"},
		{"an open plaintext gateway exits 1", []string{"audit", "--url", open + "/v1/ingest"}, exitFindings, "FAIL"},
		{"findings below --fail-on exit 0", []string{"audit", "--url", open + "/v1/ingest", "--fail-on", "critical"}, exitOK, "FAIL"},
		{"a gateway that never answers exits 3", []string{"audit", "--url", "http://" + silent.Addr().String() + "/v1/ingest", "--timeout", "200ms", "--deadline", "5s"}, exitInconclusive, "INCONCLUSIVE"},
		{"audit prints Markdown with --format md", []string{"audit", "--url", open + "/v1/ingest", "--format", "md"}, exitFindings, "## Remediation backlog"},
		{"audit prints HTML with --format html", []string{"audit", "--url", open + "/v1/ingest", "--format", "html"}, exitFindings, "<!DOCTYPE html>"},
		{"audit prints SARIF with --format sarif", []string{"audit", "--url", open + "/v1/ingest", "--format", "sarif"}, exitFindings, `"version": "2.1.0"`},
		{"audit prints JUnit XML with --format junit", []string{"audit", "--url", open + "/v1/ingest", "--format", "junit"}, exitFindings, "<testsuite"},
		{"audit prints the backlog as CSV with --format csv", []string{"audit", "--url", open + "/v1/ingest", "--format", "csv"}, exitFindings, "ingest_auth.unauthenticated_ingest_allowed"},
		{"audit with an unknown --format exits 2", []string{"audit", "--url", open, "--format", "pdf"}, exitUsage, "--format"},
		{"controls lists the catalog", []string{"controls"}, exitOK, "ingest_auth.unauthenticated_ingest_allowed"},
		{"controls with an unknown format exits 2", []string{"controls", "--format", "pdf"}, exitUsage, "unknown format"},
		{"version prints a version", []string{"version"}, exitOK, "hardgate "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.wantCode || !strings.Contains(stdout+stderr, tt.wantOut) {
				t.Fatalf("exit %d, want %d; output lacks %q:\nstdout: %s\nstderr: %s", code, tt.wantCode, tt.wantOut, stdout, stderr)
			}
		})
	}
}

func TestAuditWritesAResultThatReadsBack(t *testing.T) {
	open := openGateway(t)
	out := filepath.Join(t.TempDir(), "result.json")
	code, stdout, stderr := runCLI(t, "audit", "--url", open+"/v1/ingest", "--out", out, "--color", "never")
	if code != exitFindings {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if strings.Contains(stdout, "\x1b[") {
		t.Error("colour codes in output with --color never")
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := result.Decode(f)
	if err != nil {
		t.Fatalf("the written result does not read back: %v", err)
	}
	if res.Summary.Status != result.AuditFail {
		t.Fatalf("status %s", res.Summary.Status)
	}
}

func TestControlsJSONIsTheCatalog(t *testing.T) {
	code, stdout, _ := runCLI(t, "controls", "--format", "json")
	var doc struct {
		Controls []struct {
			ID string `json:"id"`
		} `json:"controls"`
	}
	if code != exitOK || json.Unmarshal([]byte(stdout), &doc) != nil || len(doc.Controls) < 7 {
		t.Fatalf("exit %d, %d controls", code, len(doc.Controls))
	}
}

func TestAuditWithABaselineFailsOnARegression(t *testing.T) {
	guarded := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			return
		}
		w.Header().Set("WWW-Authenticate", "Bearer")
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(guarded.Close)
	base := filepath.Join(t.TempDir(), "baseline.json")
	// No --name: the default target name is the host without its port, so
	// the baseline compares with audits of the same host on other ports.
	if code, out, errOut := runCLI(t, "audit", "--url", guarded.URL+"/v1/ingest", "--out", base); code != exitFindings {
		// plaintext is a finding, but authentication holds: the baseline.
		t.Fatalf("baseline audit exit %d\n%s%s", code, out, errOut)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"the same state passes the gate", []string{"--url", guarded.URL + "/v1/ingest"}, exitOK, "0 regressions"},
		{"a gateway on another port that stopped checking auth fails the gate", []string{"--url", openGateway(t) + "/v1/ingest"}, exitFindings, "regressed (ingest_auth.unauthenticated_ingest_allowed)"},
		{"another target is refused with exit 2", []string{"--name", "elsewhere", "--url", guarded.URL + "/v1/ingest"}, exitUsage, "--allow-different-targets"},
		{"another target compares when allowed", []string{"--name", "elsewhere", "--url", guarded.URL + "/v1/ingest", "--allow-different-targets"}, exitOK, "0 regressions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"audit", "--baseline", base}, tt.args...)...)
			if code != tt.wantCode || !strings.Contains(out+errOut, tt.wantOut) {
				t.Fatalf("exit %d, want %d; output lacks %q:\n%s%s", code, tt.wantCode, tt.wantOut, out, errOut)
			}
		})
	}
	t.Run("a machine format keeps stdout one document and puts the delta on stderr", func(t *testing.T) {
		code, out, errOut := runCLI(t, "audit", "--baseline", base, "--url", guarded.URL+"/v1/ingest", "--format", "sarif")
		var doc map[string]any
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
		}
		if code != exitOK || !strings.Contains(errOut, "0 regressions") {
			t.Fatalf("exit %d; stderr lacks the delta:\n%s", code, errOut)
		}
	})
	t.Run("a missing baseline is a usage error", func(t *testing.T) {
		if code, _, errOut := runCLI(t, "audit", "--url", guarded.URL, "--baseline", "/nonexistent.json"); code != exitUsage || !strings.Contains(errOut, "--baseline") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
}
