package delta_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/hardgate/hardgate/internal/delta"
	"github.com/hardgate/hardgate/internal/report/reporttest"
)

// TestHTMLDeltaFitsAt1280And800Pixels: the delta's tables stay inside the
// main column at both widths, and control ids wrap only after a dot or an
// underscore (the reverse comparison has the longest tables).
func TestHTMLDeltaFitsAt1280And800Pixels(t *testing.T) {
	d, err := delta.Compare(reporttest.WorkedExampleAfter(), reporttest.WorkedExampleBefore(), delta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "delta.html")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := delta.Render(f, d, "html", delta.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	page := reporttest.OpenInChromium(t, path)
	for _, width := range []int{1280, 800} {
		t.Run(strconv.Itoa(width)+" px", func(t *testing.T) {
			reporttest.SetWidth(t, page, width)
			for _, o := range reporttest.Overflows(t, page) {
				t.Error(o)
			}
			for _, b := range reporttest.IDBreaks(t, page) {
				t.Error(b)
			}
			reporttest.Screenshot(t, page, "delta-"+strconv.Itoa(width)+".png")
		})
	}
}
