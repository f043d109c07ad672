package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/result"
)

// waiversFile writes a waivers file of one waiver per control, for the
// target 127.0.0.1 (the quick flags' default name), expiring on expires.
func waiversFile(t *testing.T, expires time.Time, controls ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("waivers:\n")
	for _, c := range controls {
		b.WriteString("  - control: " + c + "\n    targets: [127.0.0.1]\n    justification: lab gateway, decommissioned next month (ticket LAB-7)\n" +
			"    owner: lab team\n    expires: " + expires.UTC().Format(time.DateOnly) + "\n")
	}
	path := filepath.Join(t.TempDir(), "waivers.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAuditAppliesWaivers(t *testing.T) {
	url := openGateway(t) + "/v1/ingest"
	const unauth, plain = "ingest_auth.unauthenticated_ingest_allowed", "ingest_auth.insecure_transport"
	soon, past := time.Now().AddDate(0, 0, 30), time.Now().AddDate(0, 0, -2)
	t.Run("waiving every finding makes the audit pass while keeping the findings as waived", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "res.json")
		code, stdout, stderr := runCLI(t, "audit", "--url", url, "--waivers", waiversFile(t, soon, unauth, plain), "--out", out)
		if code != exitOK || !strings.Contains(stdout, "Status: PASS") || !strings.Contains(stdout, "Waived (accepted risk, not counted):") {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
		res := readResultFile(t, out)
		if statusOf(res, unauth) != result.StatusWaived || statusOf(res, plain) != result.StatusWaived || len(res.Waived) != 2 || res.Summary.Waivers.Waived != 2 {
			t.Errorf("statuses %s, %s; %d waived", statusOf(res, unauth), statusOf(res, plain), len(res.Waived))
		}
	})
	t.Run("waiving one of two findings still fails", func(t *testing.T) {
		code, stdout, _ := runCLI(t, "audit", "--url", url, "--waivers", waiversFile(t, soon, unauth))
		if code != exitFindings || !strings.Contains(stdout, "1 waived)") {
			t.Fatalf("exit %d\n%s", code, stdout)
		}
	})
	t.Run("an expired waiver is ignored and reported", func(t *testing.T) {
		code, stdout, _ := runCLI(t, "audit", "--url", url, "--waivers", waiversFile(t, past, unauth, plain))
		if code != exitFindings || !strings.Contains(stdout, "2 waiver(s) expired and no longer apply") {
			t.Fatalf("exit %d\n%s", code, stdout)
		}
	})
	bad := []struct {
		name, file, maxDays, want string
	}{
		{"a waiver for an unknown control exits 2 before probing", waiversFile(t, soon, "ingest_auth.no_such_control"), "365", "is not a control of the catalog"},
		{"an expiry beyond --waiver-max-days exits 2", waiversFile(t, soon, unauth), "10", "is more than 10 days ahead"},
		{"a missing waivers file exits 2", "/nonexistent/waivers.yaml", "365", "open waivers"},
		{"a zero --waiver-max-days exits 2", waiversFile(t, soon, unauth), "0", "--waiver-max-days 0: must be positive"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "audit", "--url", url, "--waivers", tc.file, "--waiver-max-days", tc.maxDays)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q, want 2 and %q", code, stderr, tc.want)
			}
		})
	}
}

func TestWaiversCheck(t *testing.T) {
	soon := time.Now().AddDate(0, 0, 30)
	t.Run("a valid file is listed with each waiver's state", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "waivers", "check", waiversFile(t, soon, "ingest_auth.insecure_transport"))
		if code != exitOK || !strings.Contains(stdout, "ingest_auth.insecure_transport") || !strings.Contains(stdout, "active") || !strings.Contains(stdout, "1 waiver(s), valid") {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
	})
	t.Run("an expired waiver is valid and shown expired", func(t *testing.T) {
		_, stdout, _ := runCLI(t, "waivers", "check", waiversFile(t, time.Now().AddDate(0, 0, -1), "ingest_auth.insecure_transport"))
		if !strings.Contains(stdout, "EXPIRED") {
			t.Fatalf("%s", stdout)
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"an unknown control exits 2", []string{"check", waiversFile(t, soon, "ingest_auth.nope")}, exitUsage, "not a control of the catalog"},
		{"no subcommand exits 2 with usage", nil, exitUsage, "Usage: hardgate waivers check"},
		{"no file exits 2", []string{"check"}, exitUsage, "want exactly one FILE"},
		{"help exits 0", []string{"--help"}, exitOK, "Examples:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"waivers"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
		})
	}
}
