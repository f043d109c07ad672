package report

import (
	"encoding/xml"
	"fmt"
	"github.com/hardgate/hardgate/internal/result"
	"io"
	"strings"
	"unicode/utf8"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",cdata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// renderJUnit writes JUnit XML with one testcase per control: fail is a
// failure, error an error, not_applicable skipped, and waived skipped with
// the waiver's justification, owner and last day.
func renderJUnit(w io.Writer, res *result.Result, _ RenderOptions) error {
	elapsed := fmt.Sprintf("%.3f", res.FinishedAt.Sub(res.StartedAt).Seconds())
	if res.FinishedAt.Before(res.StartedAt) {
		elapsed = "0.000"
	}
	suite := junitSuite{
		Name:      "hardgate: " + res.Target.Name,
		Time:      elapsed,
		Timestamp: res.StartedAt.UTC().Format("2006-01-02T15:04:05"),
		Properties: []junitProperty{
			{Name: "audit_id", Value: res.AuditID},
			{Name: "status", Value: res.Summary.Status},
			{Name: "posture", Value: res.Summary.Posture},
			{Name: "risk_score", Value: fmt.Sprint(res.Summary.RiskScore)},
			{Name: "tool_version", Value: res.Tool.Version},
		},
	}
	for _, c := range sortedControls(res) {
		family, _, _ := strings.Cut(c.ID, ".")
		tc := junitCase{Name: c.ID + ": " + oneLine(c.Title), ClassName: "hardgate." + family, Time: "0"}
		body := controlEvidenceText(c)
		switch c.Status {
		case result.StatusFail:
			suite.Failures++
			if f, ok := findingFor(res, c.ID); ok && f.Remediation.Text != "" {
				body += "\n\nRemediation: " + f.Remediation.Text
				if f.Verification.Request != "" {
					body += "\nVerify: " + f.Verification.Request + " -> " + f.Verification.Expected
				}
			}
			tc.Failure = &junitProblem{Message: oneLine(c.Reason), Type: c.Severity, Body: xmlSafe(body)}
		case result.StatusError:
			suite.Errors++
			tc.Error = &junitProblem{Message: oneLine(c.Reason), Type: "inconclusive", Body: xmlSafe(body)}
		case result.StatusNotApplicable:
			suite.Skipped++
			tc.Skipped = &junitSkipped{Message: oneLine(c.Reason)}
		case result.StatusWaived:
			suite.Skipped++
			tc.Skipped = &junitSkipped{Message: waivedMessage(c)}
			tc.SystemOut = xmlSafe(oneLine(c.Reason))
		case result.StatusPass:
			tc.SystemOut = oneLine(c.Reason)
		default:
			suite.Errors++
			tc.Error = &junitProblem{Message: fmt.Sprintf("unknown status %q", c.Status), Type: "inconclusive"}
		}
		suite.Cases = append(suite.Cases, tc)
	}
	suite.Tests = len(suite.Cases)
	doc := junitSuites{Name: "hardgate", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors,
		Skipped: suite.Skipped, Time: suite.Time, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// waivedMessage is the skip message of a waived control.
func waivedMessage(c result.ControlResult) string {
	if c.Waiver == nil {
		return "waived"
	}
	w := c.Waiver
	return oneLine(fmt.Sprintf("waived until %s (owner %s): %s", w.Expires, w.Owner, w.Justification))
}

// controlEvidenceText joins a control's evidence as plain text.
func controlEvidenceText(c result.ControlResult) string {
	parts := make([]string, 0, len(c.Evidence))
	for _, e := range c.Evidence {
		parts = append(parts, "["+EvidenceTitle(e)+"]\n"+EvidenceDetail(e))
	}
	return strings.Join(parts, "\n\n")
}

// xmlSafe replaces the characters XML 1.0 cannot carry (control characters,
// invalid UTF-8) with U+FFFD, since CDATA sections are not escaped.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r < 0x20, r == utf8.RuneError, r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
			return '\uFFFD'
		}
		return r
	}, s)
}
