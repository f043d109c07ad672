package report

import (
	"errors"
	"fmt"
	"github.com/hardgate/hardgate/internal/result"
	"io"
	"maps"
	"slices"
	"strings"
)

// RenderOptions tune a renderer. The zero value is the plain default.
type RenderOptions struct {
	// Color adds ANSI colours to the text format. Other formats ignore it.
	Color bool
	// Docs looks up a control's reference text in the catalog (nil: none).
	// SARIF uses it so that every rule, not only the failed ones, carries
	// its risk, remediation and framework references.
	Docs func(id string) (result.ControlDoc, bool)
}

// ErrUnknownFormat is returned by Render for a format it does not know.
var ErrUnknownFormat = errors.New("unknown report format")

type renderFunc func(w io.Writer, res *result.Result, opts RenderOptions) error

var renderers = map[string]renderFunc{
	"text":  renderText,
	"json":  func(w io.Writer, res *result.Result, _ RenderOptions) error { return result.Encode(w, res) },
	"md":    renderMarkdown,
	"html":  renderHTML,
	"sarif": renderSARIF,
	"junit": renderJUnit,
	"csv":   renderCSV,
}

// Formats lists the formats Render accepts, sorted.
func Formats() []string {
	return slices.Sorted(maps.Keys(renderers))
}

// Render writes res in format (one of Formats) to w. The output depends only
// on res and opts: everything printed is sorted, and no clock is read.
// Every string of res is printed through result.Printable.
func Render(w io.Writer, res *result.Result, format string, opts RenderOptions) error {
	if res == nil {
		return errors.New("render: no result")
	}
	f, ok := renderers[strings.ToLower(format)]
	if !ok {
		return fmt.Errorf("%w %q: choose one of %s", ErrUnknownFormat, format, strings.Join(Formats(), ", "))
	}
	if strings.ToLower(format) != "json" {
		// Every human format prints target-controlled text (topic names,
		// headers, body excerpts, config values): control characters and
		// bidi overrides become visible escapes, in one place. json is the
		// document itself; result.Encode escapes what a terminal obeys.
		res = result.Escaped(res)
	}
	if err := f(w, res, opts); err != nil {
		return fmt.Errorf("render %s: %w", format, err)
	}
	return nil
}

// sortedFindings returns the findings by severity, then id, without
// touching res.
func sortedFindings(res *result.Result) []result.Finding { return bySeverity(res.Findings) }

// sortedWaived returns the waived findings by severity, then id.
func sortedWaived(res *result.Result) []result.Finding { return bySeverity(res.Waived) }

func bySeverity(fs []result.Finding) []result.Finding {
	out := slices.Clone(fs)
	slices.SortStableFunc(out, func(a, b result.Finding) int {
		if d := result.SeverityRank(a.Severity) - result.SeverityRank(b.Severity); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// sortedControls returns the controls by id.
func sortedControls(res *result.Result) []result.ControlResult {
	out := slices.Clone(res.Controls)
	slices.SortStableFunc(out, func(a, b result.ControlResult) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// sortedBacklog returns the backlog by priority, then id.
func sortedBacklog(res *result.Result) []result.BacklogItem {
	out := slices.Clone(res.Backlog)
	slices.SortStableFunc(out, func(a, b result.BacklogItem) int {
		if c := strings.Compare(a.Priority, b.Priority); c != 0 {
			return c
		}
		return naturalCompare(a.ID, b.ID)
	})
	return out
}

// sortedDomains returns the domain postures by name.
func sortedDomains(res *result.Result) []result.DomainPosture {
	out := slices.Clone(res.Summary.Domains)
	slices.SortStableFunc(out, func(a, b result.DomainPosture) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// naturalCompare orders "HG-2" before "HG-10".
func naturalCompare(a, b string) int {
	pa, na := splitNumSuffix(a)
	pb, nb := splitNumSuffix(b)
	if pa == pb && na >= 0 && nb >= 0 && na != nb {
		if na < nb {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

func splitNumSuffix(s string) (string, int) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	if i == len(s) || len(s)-i > 9 {
		return s, -1
	}
	n := 0
	for _, c := range s[i:] {
		n = n*10 + int(c-'0')
	}
	return s[:i], n
}

// severityCounts returns (severity, count) for every known severity in
// order, plus any unknown severity present in the map, sorted.
func severityCounts(s result.Summary) []SeverityCount {
	out := make([]SeverityCount, 0, len(result.Severities))
	for _, sev := range result.Severities {
		out = append(out, SeverityCount{Severity: sev, Count: s.SeverityCounts[sev]})
	}
	for _, k := range slices.Sorted(maps.Keys(s.SeverityCounts)) {
		if !slices.Contains(result.Severities, k) {
			out = append(out, SeverityCount{Severity: k, Count: s.SeverityCounts[k]})
		}
	}
	return out
}

// SeverityCount is one severity and its number of findings.
type SeverityCount struct {
	Severity string
	Count    int
}

// findingFor returns the finding of control id, if any, waived or not.
func findingFor(res *result.Result, id string) (result.Finding, bool) {
	for _, fs := range [][]result.Finding{res.Findings, res.Waived} {
		for _, f := range fs {
			if f.ID == id {
				return f, true
			}
		}
	}
	return result.Finding{}, false
}

// postureWord is the traffic-light word for a posture.
func postureWord(p string) string {
	switch p {
	case result.PostureGreen, result.PostureAmber, result.PostureRed:
		return p
	case "":
		return "unknown"
	}
	return p
}
