package main

import (
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/pki"
)

// tokenGateway is an HTTPS ingest on loopback that accepts "Bearer good"
// with 202, refuses anything else with 401 and answers /healthz; it
// returns the ingest URL and the CA file that verifies it.
func tokenGateway(t *testing.T) (ingestURL, caFile string) {
	t.Helper()
	files, err := pki.WriteFiles(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(files.Cert, files.Key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/healthz":
		case r.Header.Get("Authorization") == "Bearer good":
			w.WriteHeader(http.StatusAccepted)
		default:
			w.Header().Set("WWW-Authenticate", "Bearer")
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the TLS scan's refused handshakes
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/ingest", files.CA
}

// TestBaselineGateSaysWhatIsTrue: the gate's verdict, whether the new
// result was written and which result is the reference point afterwards;
// never "now the baseline" for a result that failed the gate or was not
// saved (issue 18, item 10).
func TestBaselineGateSaysWhatIsTrue(t *testing.T) {
	guarded := openGuardedGateway(t)
	dir := t.TempDir()
	base := filepath.Join(dir, "baseline.json")
	if code, out, errOut := runCLI(t, "audit", "--url", guarded+"/v1/ingest", "--out", base); code != exitFindings {
		t.Fatalf("baseline audit exit %d\n%s%s", code, out, errOut)
	}
	baseID := readResultFile(t, base).AuditID
	stays := "the baseline " + baseID + " (" + base + ") stays the reference point"
	out := filepath.Join(dir, "new.json")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"a failed gate without --out", []string{"--url", openGateway(t) + "/v1/ingest"}, exitFindings,
			[]string{"Gate failed (--fail-on regression): 1 regressed", "The gate failed, so " + stays + ". The new result was not written (no --out FILE)."}},
		{"a failed gate with --out", []string{"--url", openGateway(t) + "/v1/ingest", "--out", out}, exitFindings,
			[]string{"The new result was written to " + out + ", but it is not a baseline: the gate failed, so " + stays + "."}},
		{"a passed gate without --out", []string{"--url", guarded + "/v1/ingest"}, exitOK,
			[]string{"Gate passed (--fail-on regression): 0 regressions, 0 lost coverage.", "The new result was not written (no --out FILE), so " + stays + "; add --out FILE"}},
		{"a passed gate with --out", []string{"--url", guarded + "/v1/ingest", "--out", out}, exitOK,
			[]string{"The new result was written to " + out + "; give it as --baseline to make it the reference point of the next release."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append([]string{"audit", "--baseline", base}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.wantCode, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			if strings.Contains(stdout, "is now the baseline") || strings.Contains(stdout, "Reference point:") {
				t.Errorf("stdout calls a result the new baseline:\n%s", stdout)
			}
		})
	}
}

// TestBaselineGateFailsOnLostCoverage: the baseline was audited with the
// token; an audit without it cannot run the token controls. That is lost
// coverage, its own row, and fails the gate unless --allow-coverage-loss
// (issue 18, item 11).
func TestBaselineGateFailsOnLostCoverage(t *testing.T) {
	ingest, ca := tokenGateway(t)
	t.Setenv("HG_GOOD_TOKEN", "good")
	base := filepath.Join(t.TempDir(), "baseline.json")
	if code, out, errOut := runCLI(t, "audit", "--url", ingest, "--ca", ca, "--token-env", "HG_GOOD_TOKEN", "--out", base); code != exitOK {
		t.Fatalf("baseline audit exit %d\n%s%s", code, out, errOut)
	}
	t.Run("with the token the gate passes", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "audit", "--url", ingest, "--ca", ca, "--token-env", "HG_GOOD_TOKEN", "--baseline", base)
		if code != exitOK || !strings.Contains(stdout, "Coverage lost:    0") {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
	})
	t.Run("without the token the gate fails on lost coverage", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "audit", "--url", ingest, "--ca", ca, "--baseline", base)
		for _, w := range []string{"Coverage lost:    2", "ingest_auth.authenticated_ingest_rejected  (pass -> not_applicable)",
			"Gate failed (--fail-on regression): 2 lost coverage", "--allow-coverage-loss accepts lost coverage"} {
			if !strings.Contains(stdout, w) {
				t.Errorf("stdout lacks %q", w)
			}
		}
		if code != exitFindings {
			t.Fatalf("exit %d, want %d\n%s%s", code, exitFindings, stdout, stderr)
		}
	})
	t.Run("--allow-coverage-loss passes it, and says so", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "audit", "--url", ingest, "--ca", ca, "--baseline", base, "--allow-coverage-loss")
		if code != exitOK || !strings.Contains(stdout, "2 lost coverage, allowed by --allow-coverage-loss") {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
	})
	t.Run("hardgate diff fails on it too", func(t *testing.T) {
		after := filepath.Join(t.TempDir(), "after.json")
		runCLI(t, "audit", "--url", ingest, "--ca", ca, "--out", after)
		if code, _, stderr := runCLI(t, "diff", base, after); code != exitFindings || !strings.Contains(stderr, "2 lost coverage") {
			t.Fatalf("diff exit %d: %s", code, stderr)
		}
		if code, _, stderr := runCLI(t, "diff", base, after, "--allow-coverage-loss"); code != exitOK {
			t.Fatalf("diff --allow-coverage-loss exit %d: %s", code, stderr)
		}
	})
}

// openGuardedGateway is plaintext ingest that refuses without credentials.
func openGuardedGateway(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			return
		}
		w.Header().Set("WWW-Authenticate", "Bearer")
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
