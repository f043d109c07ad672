package report_test

import (
	"strconv"
	"testing"

	"github.com/hardgate/hardgate/internal/report/reporttest"
)

// TestHTMLReportFitsAt1280And800Pixels: every table, evidence block and
// card of the report stays inside the main column at a laptop width and a
// narrow window, and control ids wrap only after a dot or an underscore.
func TestHTMLReportFitsAt1280And800Pixels(t *testing.T) {
	for name, fixture := range fixtures() {
		res := fixture()
		page := reporttest.OpenInChromium(t, writeHTML(t, res, "report.html"))
		for _, width := range []int{1280, 800} {
			t.Run(name+" at "+strconv.Itoa(width)+" px", func(t *testing.T) {
				reporttest.SetWidth(t, page, width)
				if got := reporttest.Eval[int](t, page, `window.innerWidth`); got != width {
					t.Fatalf("viewport is %d px wide, want %d", got, width)
				}
				for _, o := range reporttest.Overflows(t, page) {
					t.Error(o)
				}
				for _, b := range reporttest.IDBreaks(t, page) {
					t.Error(b)
				}
				reporttest.Screenshot(t, page, "report-"+res.AuditID+"-"+strconv.Itoa(width)+".png")
			})
		}
	}
}
