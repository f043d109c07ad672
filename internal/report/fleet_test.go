package report_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	stdhtml "html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/fleet/fleettest"
	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
)

func renderFleet(t *testing.T, f *result.Fleet, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := report.RenderFleet(&buf, f, format); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFleetGoldenFiles(t *testing.T) {
	f := fleettest.Summary(fleettest.DefaultGateways)
	for _, format := range report.FleetFormats() {
		t.Run(format, func(t *testing.T) {
			reporttest.Golden(t, "fleet."+format+".golden", renderFleet(t, f, format), *update)
		})
	}
}

func TestFleetSummaryOfTheFixture(t *testing.T) {
	f := fleettest.Summary(fleettest.DefaultGateways)
	st := f.Totals.Statuses
	if f.Status != result.AuditFail || f.Posture != result.PostureRed || st["pass"] != 2 || st["fail"] != 2 || st["error"] != 1 {
		t.Fatalf("summary %s %s %v", f.Status, f.Posture, st)
	}
	if f.Totals.Findings != 8 || f.Totals.SeverityCounts["high"] != 6 || f.Totals.MaxRiskScore != f.Totals.RiskScore/2 {
		t.Errorf("totals %+v: two failing gateways of 4 findings (3 high) each", f.Totals)
	}
	if len(f.TopFailingControls) != 4 || f.TopFailingControls[0].Targets != 2 || f.TopFailingControls[0].Severity != "high" ||
		f.TopFailingControls[3].Severity != "medium" {
		t.Errorf("top failing controls %+v: the four of the before state, high first", f.TopFailingControls)
	}
	var order []string
	for _, tg := range report.WorstFirst(f.Targets) {
		order = append(order, tg.Name)
	}
	if got := strings.Join(order, " "); got != "gw-0002 gw-0005 gw-0004 gw-0001 gw-0003" {
		t.Errorf("worst first = %s", got)
	}
}

func TestFleetHTMLReadsWithoutScriptAndLoadsNothing(t *testing.T) {
	html := string(renderFleet(t, fleettest.Summary(fleettest.DefaultGateways), "html"))
	if !strings.Contains(html, `<form id="filters" hidden>`) {
		t.Error("the label filter form must stay hidden until the script shows it")
	}
	if strings.Contains(html, "<tr hidden") || strings.Count(html, `<tr data-name=`) != 5 {
		t.Error("without script every gateway must be listed")
	}
	csp := regexp.MustCompile(`script-src 'sha256-([A-Za-z0-9+/=]+)'`).FindStringSubmatch(stdhtml.UnescapeString(html))
	script := regexp.MustCompile(`(?s)<script>(.*)</script>`).FindStringSubmatch(html)
	if csp == nil || script == nil {
		t.Fatal("no script hash in the CSP or no script")
	}
	sum := sha256.Sum256([]byte(script[1]))
	if base64.StdEncoding.EncodeToString(sum[:]) != csp[1] {
		t.Error("the CSP hash does not match the inline script: the browser would refuse it")
	}
	noNS := strings.ReplaceAll(html, `xmlns="http://www.w3.org/2000/svg"`, "")
	for _, bad := range []string{"http://", "https://", "src="} {
		if strings.Contains(noNS, bad) {
			t.Errorf("the fleet report refers to %q", bad)
		}
	}
}

func TestFleetMarkdownEscapesLabels(t *testing.T) {
	gws := []fleettest.Gateway{{Name: "gw-1", Labels: map[string]string{"site": "[x](http://evil)|<b>"}, Result: "after"}}
	md := string(renderFleet(t, fleettest.Summary(gws), "md"))
	if strings.Contains(md, "[x](http") || strings.Contains(md, "<b>") {
		t.Errorf("a label injected markup:\n%s", md)
	}
}

func TestFleetRenderRejectsUnknownFormat(t *testing.T) {
	if err := report.RenderFleet(&bytes.Buffer{}, fleettest.Summary(fleettest.DefaultGateways), "sarif"); err == nil {
		t.Error("sarif accepted for a fleet")
	}
}

func TestFleetHTMLInChromium(t *testing.T) {
	f := fleettest.Summary(fleettest.DefaultGateways)
	path := filepath.Join(t.TempDir(), "fleet.html")
	if err := os.WriteFile(path, renderFleet(t, f, "html"), 0o600); err != nil {
		t.Fatal(err)
	}
	page := reporttest.OpenInChromium(t, path)
	if got := reporttest.Eval[string](t, page, `document.getElementById("status").textContent`); got != "FAIL" {
		t.Errorf("status %q", got)
	}
	rows := reporttest.Eval[[]map[string]any](t, page, `[...document.querySelectorAll("#grid tbody tr")].map(r => ({
		name: r.dataset.name, status: r.dataset.status, h: r.getBoundingClientRect().height,
		link: (r.querySelector("a") || {}).getAttribute ? r.querySelector("a").getAttribute("href") : "",
		cells: [...r.querySelectorAll("td.cell")].map(c => c.className + "|" + getComputedStyle(c).backgroundColor)}))`)
	if len(rows) != 5 || rows[0]["name"] != "gw-0002" || rows[4]["status"] != "pass" {
		t.Fatalf("grid rows %v, want 5 worst first", rows)
	}
	cellBG := map[string]string{"red": "rgb(253, 236, 234)", "amber": "rgb(255, 244, 224)", "green": "rgb(232, 245, 233)"}
	for _, r := range rows {
		if r["h"].(float64) < 20 {
			t.Errorf("row %v is not laid out", r["name"])
		}
		if r["name"] != "gw-0004" && r["link"] != "results/"+r["name"].(string)+".html" {
			t.Errorf("row %v links %v, want its report", r["name"], r["link"])
		}
		for _, c := range r["cells"].([]any) {
			class, bg, _ := strings.Cut(strings.TrimPrefix(c.(string), "cell "), "|")
			if want, ok := cellBG[class]; ok && bg != want {
				t.Errorf("row %v: a %s domain cell has background %s, want %s (the inline CSS must apply)", r["name"], class, bg, want)
			}
		}
	}
	if !reporttest.Eval[bool](t, page, `!document.getElementById("filters").hidden`) {
		t.Fatal("the script did not show the label filter (a CSP refusal?)")
	}
	visible := reporttest.Eval[map[string]any](t, page, `(() => {
		const s = document.querySelector('#filters select[name="site"]');
		s.value = "plant-2"; s.dispatchEvent(new Event("change", {bubbles: true}));
		const m = document.querySelector('#filters select[name="model"]');
		m.value = "pi4"; m.dispatchEvent(new Event("change", {bubbles: true}));
		return {shown: document.getElementById("shown").textContent,
			names: [...document.querySelectorAll("#grid tbody tr")].filter(r => !r.hidden && r.offsetParent !== null).map(r => r.dataset.name).join(" ")};
	})()`)
	if visible["shown"] != "2" || visible["names"] != "gw-0005 gw-0003" {
		t.Errorf("filter site=plant-2 model=pi4 shows %v, want gw-0005 gw-0003", visible)
	}
	reporttest.Screenshot(t, page, "fleet-report.png")
	if errs := page.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
	if reqs := page.Requests(); len(reqs) != 1 || reqs[0] != page.URL {
		t.Errorf("requests = %v, want only the file itself", reqs)
	}
}
