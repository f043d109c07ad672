package delta_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/delta"
	"github.com/hardgate/hardgate/internal/report/reporttest"
)

func TestHTMLDeltaInChromium(t *testing.T) {
	forward := workedExample(t)
	backward, err := delta.Compare(reporttest.WorkedExampleAfter(), reporttest.WorkedExampleBefore(), delta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                string
		d                   *delta.Delta
		improved, regressed int
		regressedColour     string
	}{
		{"the worked example shows 4 improved and a plain green 0 regressions", forward, 4, 0, "rgb(46, 125, 50)"},
		{"the reverse comparison shows 4 regressions in red", backward, 0, 4, "rgb(198, 40, 40)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "delta.html")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := delta.Render(f, tc.d, "html", delta.RenderOptions{}); err != nil {
				t.Fatal(err)
			}
			f.Close()
			page := reporttest.OpenInChromium(t, path)
			tiles := reporttest.Eval[map[string]map[string]any](t, page, `Object.fromEntries([...document.querySelectorAll("#delta-tiles .tile-count")].map(e => {
				const v = e.querySelector(".value"); const r = v.getBoundingClientRect();
				return [e.id, {text: v.textContent.trim(), colour: getComputedStyle(v).color, size: parseFloat(getComputedStyle(v).fontSize), h: r.height}];
			}))`)
			for id, want := range map[string]int{"count-improved": tc.improved, "count-regressed": tc.regressed} {
				tile, ok := tiles[id]
				if !ok {
					t.Fatalf("tile %s missing; tiles: %v", id, tiles)
				}
				if tile["text"] != strconv.Itoa(want) {
					t.Errorf("%s shows %v, want %d", id, tile["text"], want)
				}
				if tile["size"].(float64) < 20 || tile["h"].(float64) < 20 {
					t.Errorf("%s is not shown plainly: %v", id, tile)
				}
			}
			if got := tiles["count-regressed"]["colour"]; got != tc.regressedColour {
				t.Errorf("regressed count colour = %v, want %s", got, tc.regressedColour)
			}
			rows := reporttest.Eval[map[string]int](t, page, `({
				improved: document.querySelectorAll("#table-improved tbody tr").length,
				regressed: document.querySelectorAll("#table-regressed tbody tr").length,
				counts: document.querySelectorAll("#counts-table tbody tr").length,
				sides: document.querySelectorAll("#sides-table tbody tr").length})`)
			if rows["improved"] != tc.improved || rows["regressed"] != tc.regressed || rows["counts"] != 11 || rows["sides"] != 6 {
				t.Errorf("table rows = %v", rows)
			}
			ref := reporttest.Eval[string](t, page, `document.getElementById("reference").textContent`)
			if !strings.Contains(ref, tc.d.After.AuditID) {
				t.Errorf("reference card %q does not name the after audit %s", ref, tc.d.After.AuditID)
			}
			if errs := page.ConsoleErrors(); len(errs) > 0 {
				t.Errorf("console errors: %v", errs)
			}
			if reqs := page.Requests(); len(reqs) != 1 || reqs[0] != page.URL {
				t.Errorf("requests = %v, want only the file itself", reqs)
			}
			reporttest.Screenshot(t, page, "delta-"+tc.d.Before.AuditID+"-to-"+tc.d.After.AuditID+".png")
		})
	}
}
