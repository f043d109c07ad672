package report_test

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	reporttest.Golden(t, name, got, *update)
}

// fixtures are the real audits of the worked example (internal/demo with a
// fixed clock and ids, normalised); see reporttest.WorkedExampleBefore.
func fixtures() map[string]func() *result.Result {
	return map[string]func() *result.Result{
		"before": reporttest.WorkedExampleBefore, "after": reporttest.WorkedExampleAfter,
		"before-waived": func() *result.Result { return reporttest.WorkedExampleBeforeWaived(reporttest.WaiverDay) },
	}
}

func TestRenderMatchesGoldenFiles(t *testing.T) {
	for name, fixture := range fixtures() {
		for _, format := range report.Formats() {
			t.Run("the worked example's "+name+" result renders as "+format, func(t *testing.T) {
				var buf bytes.Buffer
				if err := report.Render(&buf, fixture(), format, report.RenderOptions{}); err != nil {
					t.Fatal(err)
				}
				golden(t, "worked-example-"+name+"."+format+".golden", buf.Bytes())
			})
		}
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	for _, format := range report.Formats() {
		t.Run(format+" output is identical across runs and input order", func(t *testing.T) {
			a := reporttest.WorkedExampleBefore()
			b := reporttest.WorkedExampleBefore()
			// Reverse every list: the output must not depend on input order.
			reverse(b.Controls)
			reverse(b.Findings)
			reverse(b.Backlog)
			reverse(b.Summary.Domains)
			var ba, bb bytes.Buffer
			if err := report.Render(&ba, a, format, report.RenderOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := report.Render(&bb, b, format, report.RenderOptions{}); err != nil {
				t.Fatal(err)
			}
			if format == "json" {
				return // json is the document itself, in its own order
			}
			if !bytes.Equal(ba.Bytes(), bb.Bytes()) {
				t.Errorf("%s output depends on input order", format)
			}
		})
	}
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

func TestRenderRejects(t *testing.T) {
	tests := []struct {
		name   string
		res    *result.Result
		format string
		want   string
	}{
		{"an unknown format names the formats it knows", reporttest.WorkedExampleBefore(), "pdf", "choose one of csv, html, json, junit, md, sarif, text"},
		{"a missing result is an error", nil, "text", "no result"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := report.Render(&bytes.Buffer{}, tc.res, tc.format, report.RenderOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if err := report.Render(&bytes.Buffer{}, reporttest.WorkedExampleBefore(), "pdf", report.RenderOptions{}); !errors.Is(err, report.ErrUnknownFormat) {
		t.Errorf("err = %v, want ErrUnknownFormat", err)
	}
}

func TestTextColourOnlyWhenAsked(t *testing.T) {
	tests := []struct {
		name  string
		color bool
		want  bool
	}{
		{"plain text has no escape codes", false, false},
		{"coloured text paints the status", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := report.Render(&buf, reporttest.WorkedExampleBefore(), "text", report.RenderOptions{Color: tc.color}); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(buf.String(), "\x1b["); got != tc.want {
				t.Errorf("escape codes present = %t, want %t", got, tc.want)
			}
		})
	}
}

func TestCSVNeutralisesFormulaCells(t *testing.T) {
	res := reporttest.WorkedExampleBefore()
	res.Backlog[0].Title = "=HYPERLINK(\"http://127.0.0.1/x\",\"click\")"
	res.Backlog[1].AcceptanceTest = "+1 returns 401"
	res.Backlog[2].Owner = "@ops"
	res.Backlog[3].Domain = "-cmd"
	res.Backlog[3].Title = "title with, comma and \"quotes\"\nand a newline\r\nand a CRLF"
	var buf bytes.Buffer
	if err := report.Render(&buf, res, "csv", report.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("output is not RFC 4180 CSV: %v", err)
	}
	if len(rows) != 1+len(res.Backlog) {
		t.Fatalf("got %d rows, want header + %d", len(rows), len(res.Backlog))
	}
	for _, row := range rows[1:] {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("cell %q starts with a formula character", cell)
			}
		}
	}
	joined := buf.String()
	for _, want := range []string{"'=HYPERLINK", "'+1 returns", "'@ops", "'-cmd"} {
		if !strings.Contains(joined, want) && !strings.Contains(strings.Join(flatten(rows), "\n"), want) {
			t.Errorf("neutralised cell %q missing", want)
		}
	}
	if !strings.Contains(strings.Join(flatten(rows), "\n"), "title with, comma and \"quotes\" and a newline and a CRLF") {
		t.Error("a cell with comma, quotes and line breaks did not come out as one line")
	}
	if lines := strings.Count(out, "\n"); lines != 1+len(res.Backlog) {
		t.Errorf("%d physical lines, want header + one per backlog item (%d)", lines, 1+len(res.Backlog))
	}
}

func flatten(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

func TestJUnitHasOneTestcasePerControl(t *testing.T) {
	res := reporttest.WorkedExampleBefore()
	health := reporttest.Control(res, reporttest.HealthUnavailable)
	health.Status = result.StatusError
	health.Reason = "connection refused"
	// A gateway can answer anything: control characters must not break the XML.
	reporttest.Control(res, reporttest.UnauthenticatedIngest).Evidence[0].HTTP.BodyExcerpt = "bad\x00bytes\x1b[31m \xff]]> end"
	skipped := 0
	for _, c := range res.Controls {
		if c.Status == result.StatusNotApplicable {
			skipped++
		}
	}
	var buf bytes.Buffer
	if err := report.Render(&buf, res, "junit", report.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Skipped  int `xml:"skipped,attr"`
		Suite    struct {
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
				Error   *struct{} `xml:"error"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("junit output is not XML: %v", err)
	}
	if doc.Tests != len(res.Controls) || len(doc.Suite.Cases) != len(res.Controls) {
		t.Errorf("tests = %d, cases = %d, want %d", doc.Tests, len(doc.Suite.Cases), len(res.Controls))
	}
	if doc.Failures != 4 || doc.Errors != 1 || doc.Skipped != skipped || skipped == 0 {
		t.Errorf("failures/errors/skipped = %d/%d/%d, want 4/1/%d", doc.Failures, doc.Errors, doc.Skipped, skipped)
	}
}

func TestHTMLIsSelfContained(t *testing.T) {
	for name, fixture := range fixtures() {
		t.Run("the "+name+" HTML report references nothing outside itself", func(t *testing.T) {
			var buf bytes.Buffer
			if err := report.Render(&buf, fixture(), "html", report.RenderOptions{}); err != nil {
				t.Fatal(err)
			}
			html := buf.String()
			for _, bad := range []string{"<script", "src=\"http", "href=\"http", "@import", "url(http", "<link rel=\"stylesheet\""} {
				if strings.Contains(html, bad) {
					t.Errorf("HTML contains %q", bad)
				}
			}
			if !strings.Contains(html, "default-src 'none'") {
				t.Error("HTML lacks its Content-Security-Policy")
			}
		})
	}
}

// withLeakedToken is the worked example's after result with one synthetic
// change: the positive control failed, and its evidence, the POST over
// verified HTTPS, carries the device token unredacted (the audit redacts it
// itself; the renderers must not rely on that).
func withLeakedToken() *result.Result {
	res := reporttest.WorkedExampleAfter()
	c := reporttest.Control(res, reporttest.AuthenticatedIngestRejected)
	c.Status = result.StatusFail
	c.Reason = "POST with the valid token was refused with 401"
	c.Evidence[0].HTTP.RequestHeaders["Authorization"] = "Bearer s3cr3t-token-value"
	c.Evidence[0].HTTP.StatusCode = 401
	res.Findings = append(res.Findings, result.Finding{ID: c.ID, Title: c.Title, Severity: c.Severity, Domains: c.Domains, Reason: c.Reason, Evidence: c.Evidence})
	res.Summary.Status, res.Summary.Posture, res.Summary.Findings = result.AuditFail, result.PostureRed, 1
	return res
}

func TestReportsNeverPrintCredentials(t *testing.T) {
	res := withLeakedToken()
	var raw bytes.Buffer
	if err := report.Render(&raw, res, "json", report.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(raw.String(), "s3cr3t-token-value") {
		t.Fatal("the fixture carries no token: this test would prove nothing")
	}
	for _, format := range report.Formats() {
		if format == "json" {
			continue // the JSON is the result itself
		}
		t.Run(format+" redacts the bearer token", func(t *testing.T) {
			var buf bytes.Buffer
			if err := report.Render(&buf, res, format, report.RenderOptions{}); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(buf.String(), "s3cr3t-token-value") {
				t.Error("token value printed")
			}
		})
	}
}

func TestHTMLEscapesEvidence(t *testing.T) {
	res := reporttest.WorkedExampleBefore()
	reporttest.Finding(res, reporttest.AuthEnforcementDisabled).Evidence[0].Config.Value = `<script>alert(1)</script>`
	res.Summary.Headline = `<img src=x onerror=alert(1)>`
	var buf bytes.Buffer
	if err := report.Render(&buf, res, "html", report.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<script>alert") || strings.Contains(buf.String(), "<img src=x") {
		t.Error("untrusted evidence reached the HTML unescaped")
	}
}
