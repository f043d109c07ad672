package waiver_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/examples"
	"github.com/hardgate/hardgate/internal/delta"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
)

// TestWaiversDocWorkedExample: docs/waivers.md shows the worked example's
// waivers file as it is, and its figures are those of the stored results
// with the waivers applied on the stated days.
func TestWaiversDocWorkedExample(t *testing.T) {
	data, err := os.ReadFile("../../docs/waivers.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	block := regexp.MustCompile("(?s)<!-- the worked example's waivers file[^>]*-->\n```yaml\n(.*?)```").FindStringSubmatch(doc)
	if block == nil {
		t.Fatal("docs/waivers.md lacks the worked example's waivers block")
	}
	file := string(examples.Waivers)
	if i := strings.Index(file, "waivers:"); i < 0 || file[i:] != block[1] {
		t.Errorf("the waivers block of docs/waivers.md differs from examples/gateway-hardening/waivers.yaml:\n%s", block[1])
	}
	row := func(name, day string, res *result.Result) string {
		s := res.Summary
		return fmt.Sprintf("| %s, %s | %s | %s | %d | %d | %d | %d | %d |", name, day, s.Status, s.Posture, s.RiskScore, s.Findings,
			s.Waivers.Waived, s.Waivers.Expired, s.Waivers.Stale)
	}
	waived := reporttest.WorkedExampleBeforeWaived(reporttest.WaiverDay)
	expired := reporttest.WorkedExampleBeforeWaived(reporttest.WaiverExpiredDay)
	for _, want := range []string{
		row("before", "2026-01-15", waived),
		row("before", "2026-04-01", expired),
		row("after", "2026-01-15", reporttest.WorkedExampleAfterWaived()),
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs/waivers.md lacks the row\n%s", want)
		}
	}
	plain, err := delta.Compare(reporttest.WorkedExampleBefore(), waived, delta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lapse, err := delta.Compare(waived, expired, delta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.Waived) != 1 || len(plain.Improved) != 0 || len(lapse.Regressed) != 1 || len(waived.Backlog) != 3 {
		t.Errorf("the doc says: waived not improved (%v, %v), a regression on expiry (%v), 3 backlog items (%d)",
			plain.Waived, plain.Improved, lapse.Regressed, len(waived.Backlog))
	}
}
