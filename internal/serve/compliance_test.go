package serve

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/compliance"
	"github.com/hardgate/hardgate/internal/result"
)

func TestDashboardShowsTheFleetsComplianceViewPerFramework(t *testing.T) {
	exec := newFakeExec()
	st := openStore(t, "")
	s := newService(t, testConfig(t, "schedule: {every: 1h, jitter: 0s}\n"), st, exec, targets("gw-1", "gw-2", "gw-3"))
	exec.set("gw-2", "regress")
	for _, name := range []string{"gw-1", "gw-2", "gw-2"} { // gw-3 never audited
		s.runOne(s.byName[name], TriggerManual, time.Now())
	}
	srv := dashboard(t, s)
	c := browser(t)

	resp, index := get(t, c, srv.URL+"/compliance")
	if resp.StatusCode != http.StatusOK || strings.Count(index, `href="/compliance/`) != len(catalog.FrameworkIDs()) {
		t.Fatalf("index %d:\n%s", resp.StatusCode, index)
	}
	if _, overview := get(t, c, srv.URL+"/"); !strings.Contains(overview, `href="/compliance"`) {
		t.Errorf("the overview does not link the compliance views")
	}
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	var latest []*result.Result
	for _, id := range []string{"hg-gw-1-001", "hg-gw-2-002"} {
		res, err := st.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		latest = append(latest, res)
	}
	for _, id := range catalog.FrameworkIDs() {
		t.Run(id, func(t *testing.T) {
			resp, body := get(t, c, srv.URL+"/compliance/"+id)
			fw, _ := catalog.FrameworkByID(id)
			var want bytes.Buffer
			if err := compliance.RenderFleet(&want, compliance.BuildFleet(latest, cat, fw), "html"); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || body != want.String() {
				t.Errorf("status %d; the page is not the fleet view of each target's latest audit:\n%.600s", resp.StatusCode, body)
			}
			if strings.Contains(body, "<script") || !strings.Contains(body, "2 hardgate audits of a fleet") {
				t.Errorf("the page needs no script and counts the two audited targets:\n%.600s", body)
			}
		})
	}
	if resp, _ := get(t, c, srv.URL+"/compliance/iso-9001"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown framework: status %d, want 404", resp.StatusCode)
	}
}
