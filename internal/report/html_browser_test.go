package report_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
)

func writeHTML(t *testing.T, res *result.Result, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := report.Render(f, res, "html", report.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestHTMLReportInChromium(t *testing.T) {
	tests := []struct {
		name           string
		res            *result.Result
		status         string
		tileColour     string // computed background of every domain tile
		backlogRows    int
		mappingRows    int
		findings       int
		emptyBacklogID string
		waived         int
	}{
		{"the before report shows red tiles, the backlog and the mapping", reporttest.WorkedExampleBefore(), "FAIL", "", 4, 4, 4, "", 0},
		{"the after report shows green tiles and an empty backlog", reporttest.WorkedExampleAfter(), "PASS", "rgb(232, 245, 233)", 0, 0, 0, "no-backlog", 0},
		{"the waived before report shows the waived finding in its own section", reporttest.WorkedExampleBeforeWaived(reporttest.WaiverDay), "FAIL", "", 3, 3, 3, "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page := reporttest.OpenInChromium(t, writeHTML(t, tc.res, "report.html"))
			if got := reporttest.Eval[string](t, page, `document.getElementById("status").textContent`); got != tc.status {
				t.Errorf("status = %q, want %q", got, tc.status)
			}
			tiles := reporttest.Eval[[]map[string]any](t, page, `[...document.querySelectorAll("#domain-tiles .tile")].map(e => ({
				domain: e.dataset.domain, posture: e.dataset.posture,
				bg: getComputedStyle(e).backgroundColor, w: e.getBoundingClientRect().width, h: e.getBoundingClientRect().height}))`)
			if len(tiles) != len(tc.res.Summary.Domains) {
				t.Fatalf("tiles = %d, want one per domain (%d)", len(tiles), len(tc.res.Summary.Domains))
			}
			postureBG := map[string]string{"red": "rgb(253, 236, 234)", "amber": "rgb(255, 244, 224)", "green": "rgb(232, 245, 233)"}
			for _, tile := range tiles {
				if tile["w"].(float64) < 100 || tile["h"].(float64) < 30 {
					t.Errorf("tile %v is not laid out", tile)
				}
				if want := postureBG[tile["posture"].(string)]; tile["bg"] != want {
					t.Errorf("tile %s background = %v, want %s (the inline CSS must apply)", tile["domain"], tile["bg"], want)
				}
				if tc.tileColour != "" && tile["bg"] != tc.tileColour {
					t.Errorf("tile %s background = %v, want %s", tile["domain"], tile["bg"], tc.tileColour)
				}
			}
			counts := reporttest.Eval[map[string]int](t, page, `({
				backlog: document.querySelectorAll("#backlog-table tbody tr").length,
				mapping: document.querySelectorAll("#mapping-table tbody tr").length,
				controls: document.querySelectorAll("#controls-table tbody tr").length,
				findings: document.querySelectorAll("#findings article.finding").length,
				waived: document.querySelectorAll("#waived article.finding.waived").length,
				metadata: document.querySelectorAll("#metadata-table tr").length,
				chartBars: document.querySelectorAll("#severity-chart text").length,
				controlsHeight: Math.round(document.getElementById("controls-table").getBoundingClientRect().height)})`)
			want := map[string]int{"backlog": tc.backlogRows, "mapping": tc.mappingRows, "controls": len(tc.res.Controls), "findings": tc.findings, "chartBars": 10, "waived": tc.waived}
			for k, v := range want {
				if counts[k] != v {
					t.Errorf("%s = %d, want %d", k, counts[k], v)
				}
			}
			if counts["metadata"] < 8 || counts["controlsHeight"] < 100 {
				t.Errorf("metadata rows %d, controls table height %d: tables did not render", counts["metadata"], counts["controlsHeight"])
			}
			if tc.emptyBacklogID != "" && !reporttest.Eval[bool](t, page, `!!document.getElementById("`+tc.emptyBacklogID+`")`) {
				t.Error("the empty backlog is not stated")
			}
			if errs := page.ConsoleErrors(); len(errs) > 0 {
				t.Errorf("console errors: %v", errs)
			}
			if ext := page.ExternalRequests(); len(ext) > 0 {
				t.Errorf("the report made network requests: %v", ext)
			}
			if reqs := page.Requests(); len(reqs) != 1 || reqs[0] != page.URL {
				t.Errorf("requests = %v, want only the file itself", reqs)
			}
			if tc.waived > 0 {
				style := reporttest.Eval[string](t, page, `getComputedStyle(document.querySelector("#waived article.waived")).borderLeftStyle`)
				if style != "dashed" {
					t.Errorf("the waived finding's border is %q, want dashed (the inline CSS must apply)", style)
				}
			}
			reporttest.Screenshot(t, page, fmt.Sprintf("report-%s-%d.png", tc.res.AuditID, tc.waived))
		})
	}
}

// TestChromiumCheckSeesRequests guards the checks above: a page that loads
// something must be caught, so "no requests" is not vacuously true.
func TestChromiumCheckSeesRequests(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leaky.html")
	// Port 9 (discard) on loopback: nothing answers, but the request is made.
	page := `<!DOCTYPE html><html><head><title>x</title></head><body><img src="http://127.0.0.1:9/pixel.png"><script>console.error("boom")</script></body></html>`
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	p := reporttest.OpenInChromium(t, path)
	// The image load and the console call may land just after "body" is ready.
	reporttest.Eval[bool](t, p, `new Promise(r => setTimeout(() => r(true), 300))`)
	if len(p.ExternalRequests()) == 0 {
		t.Errorf("the request for the image was not seen; requests: %v", p.Requests())
	}
	if len(p.ConsoleErrors()) == 0 {
		t.Error("the console error was not seen")
	}
}
