package compliance_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/compliance"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
)

// TestComplianceDocWorkedExample: the figures of docs/compliance.md are
// those of the worked example's views, and its excerpts are lines of the
// golden views.
func TestComplianceDocWorkedExample(t *testing.T) {
	data, err := os.ReadFile("../../docs/compliance.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, fwID := range catalog.FrameworkIDs() {
		for name, res := range map[string]*result.Result{"before": reporttest.WorkedExampleBefore(), "after": reporttest.WorkedExampleAfter()} {
			cat, fw := load(t, fwID)
			n := compliance.Build(res, cat, fw).Counts
			row := fmt.Sprintf("| %s | %s | %d | %d | %d | %d |", fwID, name, n[compliance.StateFailure], n[compliance.StateNotTested],
				n[compliance.StateConsistent], n[compliance.StateOutside])
			if !strings.Contains(doc, row) {
				t.Errorf("docs/compliance.md lacks the row\n%s", row)
			}
		}
	}
	excerpts := regexp.MustCompile("(?s)<!-- (before|after), ([a-z0-9-]+): lines of the golden view -->\n```text\n(.*?)```").FindAllStringSubmatch(doc, -1)
	if len(excerpts) != 2 {
		t.Fatalf("%d excerpts in docs/compliance.md, want 2", len(excerpts))
	}
	for _, m := range excerpts {
		golden, err := os.ReadFile("testdata/worked-example-" + m[1] + "." + m[2] + ".md.golden")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(m[3]), "\n") {
			if !strings.Contains(string(golden), line+"\n") {
				t.Errorf("the %s %s excerpt has a line the view lacks:\n%s", m[1], m[2], line)
			}
		}
	}
	cat, fw := load(t, "etsi-en-303-645")
	waived := compliance.Build(reporttest.WorkedExampleBeforeWaived(reporttest.WaiverDay), cat, fw)
	if p := provision(t, waived, "5.10-1"); !strings.Contains(doc, p.Why) {
		t.Errorf("docs/compliance.md misquotes 5.10-1 under the waiver: %q", p.Why)
	}
}
