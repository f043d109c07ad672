package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/delta"
	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/report/reporttest"
)

// TestResultReadersNameTheFileTheyWereGiven: every command that reads a
// result, given another document, says what it is and which command takes
// it, instead of a JSON decoding error.
func TestResultReadersNameTheFileTheyWereGiven(t *testing.T) {
	files := writeResultFiles(t)
	dir := t.TempDir()
	put := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	render := func(format string) []byte {
		var b bytes.Buffer
		if err := report.Render(&b, reporttest.WorkedExampleBefore(), format, report.RenderOptions{}); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	d, err := delta.Compare(reporttest.WorkedExampleBefore(), reporttest.WorkedExampleAfter(), delta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var deltaJSON bytes.Buffer
	if err := delta.Encode(&deltaJSON, d); err != nil {
		t.Fatal(err)
	}
	testssl, err := os.ReadFile("testdata/testssl.json")
	if err != nil {
		t.Fatal(err)
	}
	testsslPretty, err := os.ReadFile("testdata/testssl-pretty.json")
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "history.db")
	if code, _, stderr := runSub(t, "history", "add", "--db", db, files.before); code != exitOK {
		t.Fatalf("history add: %s", stderr)
	}
	tests := []struct {
		name, file, want string
	}{
		{"testssl.sh's --jsonfile", put("testssl.json", testssl), "testssl.sh's JSON output; hardgate reads its own results only, and scans TLS itself: hardgate audit --url"},
		{"testssl.sh's --jsonfile-pretty", put("testssl-pretty.json", testsslPretty), "testssl.sh's JSON output"},
		{"a JUnit report", put("hardgate.xml", render("junit")), "a JUnit XML report (hardgate report --format junit renders one from a result)"},
		{"a SARIF report", put("hardgate.sarif", render("sarif")), "a SARIF report"},
		{"an HTML report", put("before.html", render("html")), "an HTML report"},
		{"a backlog CSV", put("backlog.csv", render("csv")), "a backlog CSV"},
		{"a Markdown delta", put("delta.md", renderDelta(t, d, "md")), "a rendered delta (hardgate diff --format md or html writes one)"},
		{"an HTML delta", put("delta.html", renderDelta(t, d, "html")), "a rendered delta (hardgate diff --format md or html writes one)"},
		{"a delta", put("delta.json", deltaJSON.Bytes()), "a delta of two results (hardgate diff --format json writes one): hardgate diff BEFORE.json AFTER.json"},
		{"a fleet summary", put("fleet.json", []byte(`{"schema_version":"1.0","kind":"hardgate.fleet","targets":[{"name":"gw-0001","status":"pass"}]}`)), "a fleet summary (hardgate audit --fleet writes fleet.json): hardgate diff OLD/fleet.json NEW/fleet.json"},
		{"a fleet file", put("fleet.yaml", []byte("targets:\n  - name: gw-0001\n")), "a fleet file: hardgate audit --fleet FILE"},
		{"a target spec", put("target.yaml", []byte("ingest:\n  urls: [https://127.0.0.1:8443/v1/ingest]\n")), "a target spec: hardgate audit --target FILE"},
		{"an ingestd config", put("ingestd.yaml", []byte("listen:\n  https: 127.0.0.1:8443\n")), "an ingestd config: hardgate audit --gateway-config FILE"},
		{"a history database", db, "a history database: hardgate history list --db FILE"},
	}
	commands := []struct {
		name string
		args func(file string) []string
	}{
		{"report", func(f string) []string { return []string{"report", f} }},
		{"diff", func(f string) []string { return []string{"diff", files.before, f} }},
		{"history add", func(f string) []string {
			return []string{"history", "add", "--db", filepath.Join(t.TempDir(), "h.db"), f}
		}},
		{"audit --baseline", func(f string) []string {
			return []string{"audit", "--url", "http://127.0.0.1:1/v1/ingest", "--baseline", f}
		}},
	}
	for _, tt := range tests {
		for _, c := range commands {
			if c.name == "diff" && tt.name == "a fleet summary" {
				continue // diff takes fleet summaries, and says a result and a fleet.json do not compare
			}
			t.Run(c.name+" given "+tt.name, func(t *testing.T) {
				code, stdout, stderr := runSub(t, c.args(tt.file)...)
				if code != exitUsage || stdout != "" {
					t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, exitUsage, stdout, stderr)
				}
				if !strings.Contains(stderr, tt.file+" is not an audit result: it is "+tt.want) {
					t.Fatalf("stderr = %s\nwant it to say: %s", stderr, tt.want)
				}
			})
		}
	}
	t.Run("a broken result keeps its decoding error", func(t *testing.T) {
		_, _, stderr := runSub(t, "report", files.truncated)
		if strings.Contains(stderr, "is not an audit result") {
			t.Fatalf("a truncated result was taken for another document: %s", stderr)
		}
	})
}

func FuzzIdentify(f *testing.F) {
	for _, seed := range []string{"", "[]", "{}", `[{"id":"x","severity":"INFO","finding":"y"}]`, `{"before":{},"after":{},"changes":[]}`,
		"<?xml version=\"1.0\"?><testsuite/>", "targets:\n- a\n", "SQLite format 3\x00", "\xef\xbb\xbf{}"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		what := identify(data)
		if what != "" && !strings.Contains(what, "hardgate") {
			t.Fatalf("identify(%q) = %q names no command", data, what)
		}
	})
}

func renderDelta(t *testing.T, d *delta.Delta, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := delta.Render(&b, d, format, delta.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
