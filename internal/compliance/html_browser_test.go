package compliance_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hardgate/hardgate/internal/compliance"
	"github.com/hardgate/hardgate/internal/report/reporttest"
)

// TestHTMLViewInChromium opens the EN 18031-1 view of the before result in
// headless Chromium: one row per requirement, the failure badges red by the
// inline style sheet, and no request but the file itself.
func TestHTMLViewInChromium(t *testing.T) {
	cat, fw := load(t, "en-18031-1")
	path := filepath.Join(t.TempDir(), "en-18031-1.html")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := compliance.Render(f, compliance.Build(reporttest.WorkedExampleBefore(), cat, fw), "html"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	page := reporttest.OpenInChromium(t, path)
	got := reporttest.Eval[map[string]any](t, page, `({
		rows: document.querySelectorAll("tr[data-provision]").length,
		failures: document.querySelectorAll("tr[data-state=failure][data-provision]").length,
		outside: document.querySelectorAll("tr[data-state=outside][data-provision]").length,
		red: getComputedStyle(document.querySelector("tr[data-state=failure] .badge.fail")).color})`)
	if got["rows"] != float64(33) || got["failures"] != float64(7) || got["outside"] != float64(22) || got["red"] != "rgb(198, 40, 40)" {
		t.Errorf("page %v: want 33 rows, 7 failures, 22 outside, red failure badges", got)
	}
	if ext := page.ExternalRequests(); len(ext) > 0 {
		t.Errorf("the view made network requests: %v", ext)
	}
	if errs := page.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
	reporttest.Screenshot(t, page, "compliance-en-18031-1-before.png")
}
