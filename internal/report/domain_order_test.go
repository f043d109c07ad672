package report_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
)

// The demo prints the summary's domains as scoring lists them, in
// result.Domains order; every report must list them in that same order.
func TestReportsListDomainsInTheOneDisplayOrder(t *testing.T) {
	res := reporttest.WorkedExampleBefore()
	slices.Reverse(res.Summary.Domains)
	var want []string
	for _, d := range result.Domains {
		if slices.ContainsFunc(res.Summary.Domains, func(p result.DomainPosture) bool { return p.Name == d }) {
			want = append(want, d)
		}
	}
	if len(want) < 3 {
		t.Fatalf("the fixture has %d domains; the test needs several", len(want))
	}
	for _, tc := range []struct{ format, section string }{
		{"text", "\nDomains:\n"},
		{"md", "### Posture by domain"},
		{"html", `id="domain-tiles"`},
	} {
		t.Run("the "+tc.format+" report lists domains in display order", func(t *testing.T) {
			var buf bytes.Buffer
			if err := report.Render(&buf, res, tc.format, report.RenderOptions{}); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			start := strings.Index(out, tc.section)
			if start < 0 {
				t.Fatalf("no %q section in:\n%s", tc.section, out)
			}
			out = out[start:]
			last := -1
			for _, d := range want {
				name := d
				if tc.format == "html" {
					name = strings.ReplaceAll(d, "&", "&amp;")
				}
				i := strings.Index(out, name)
				if i < 0 || i < last {
					t.Fatalf("domain %q at %d, after the previous one at %d: want the order %q", d, i, last, want)
				}
				last = i
			}
		})
	}
}
