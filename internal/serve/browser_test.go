package serve

import (
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hardgate/hardgate/internal/report/reporttest"
)

// seedFleet gives six targets a history: steady, regressed, baselined
// late, recovered, steady, and one whose runs fail.
func seedFleet(t *testing.T, s *Service, exec *fakeExec) {
	t.Helper()
	patterns := map[string][]string{
		"gw-01": {"pass", "pass", "pass", "pass", "pass", "pass"},
		"gw-02": {"pass", "pass", "pass", "regress", "regress", "regress"},
		"gw-03": {"regress", "regress", "pass", "pass", "pass", "pass"},
		"gw-04": {"pass", "regress", "regress", "pass", "pass", "pass"},
		"gw-05": {"pass", "pass", "pass", "pass"},
		"gw-06": {"error"},
	}
	for name, modes := range patterns {
		for _, m := range modes {
			exec.set(name, m)
			s.runOne(s.byName[name], TriggerSchedule, time.Now())
		}
		exec.set(name, "pass")
	}
}

// updateScreenshot rewrites docs/serve-dashboard.png from the overview.
var updateScreenshot = flag.Bool("update-screenshot", false, "rewrite docs/serve-dashboard.png")

func TestDashboardInChromium(t *testing.T) {
	exec := newFakeExec()
	names := []string{"gw-01", "gw-02", "gw-03", "gw-04", "gw-05", "gw-06"}
	s := newService(t, testConfig(t, "schedule: {every: 1h, jitter: 0s}\n"), openStore(t, ""), exec, targets(names...))
	seedFleet(t, s, exec)
	runService(t, s)
	srv := dashboard(t, s)

	p := reporttest.OpenURLInChromium(t, srv.URL+"/")
	t.Run("the overview shows the fleet worst first with sparklines and a regression badge", func(t *testing.T) {
		if n := reporttest.Eval[int](t, p, `document.querySelectorAll("#targets tr.target-row").length`); n != 6 {
			t.Errorf("%d rows, want 6", n)
		}
		if first := reporttest.Eval[string](t, p, `document.querySelector("#targets tr.target-row").dataset.target`); first != "gw-02" {
			t.Errorf("first row %s, want the regressed gw-02", first)
		}
		if n := reporttest.Eval[int](t, p, `document.querySelectorAll(".regression-badge").length`); n != 1 {
			t.Errorf("%d regression badges, want 1", n)
		}
		if n := reporttest.Eval[int](t, p, `document.querySelectorAll("svg.spark").length`); n != 5 {
			t.Errorf("%d sparklines, want 5 (gw-06 never completed an audit)", n)
		}
		if got := reporttest.Eval[string](t, p, `document.querySelector("#kpi-regressed .value").textContent`); got != "1" {
			t.Errorf("regressed KPI %q", got)
		}
		shot := reporttest.Screenshot(t, p, "serve-overview.png")
		if *updateScreenshot {
			data, err := os.ReadFile(shot)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile("../../docs/serve-dashboard.png", data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("the label filter works as a plain form", func(t *testing.T) {
		err := chromedp.Do(p.Ctx,
			chromedp.SetValue("#label", "site=plant-2"),
			chromedp.Click(".filters button"),
		)
		if err != nil {
			t.Fatal(err)
		}
		waitInPage(t, p, `location.search.includes("plant-2") && document.readyState === "complete"`)
		if n := reporttest.Eval[int](t, p, `document.querySelectorAll("#targets tr.target-row").length`); n != 3 {
			t.Errorf("%d rows for site=plant-2, want 3", n)
		}
	})
	t.Run("the target page has the trend chart baseline and regressed controls", func(t *testing.T) {
		if err := chromedp.Do(p.Ctx, chromedp.Navigate(srv.URL+"/targets/gw-02"), chromedp.WaitVisible("#trend-chart")); err != nil {
			t.Fatal(err)
		}
		if n := reporttest.Eval[int](t, p, `document.querySelectorAll("#trend-chart circle.point").length`); n != 6 {
			t.Errorf("%d points in the chart, want 6", n)
		}
		if n := reporttest.Eval[int](t, p, `document.querySelectorAll("#trend-chart .baseline-mark").length`); n != 1 {
			t.Errorf("%d baseline marks, want 1", n)
		}
		if n := reporttest.Eval[int](t, p, `document.querySelectorAll("#regressed li").length`); n != 4 {
			t.Errorf("%d regressed controls listed, want 4", n)
		}
		w := reporttest.Eval[float64](t, p, `document.querySelector("#trend-chart").getBoundingClientRect().width`)
		if w < 600 {
			t.Errorf("the chart is %.0f px wide", w)
		}
		reporttest.Screenshot(t, p, "serve-target.png")
	})
	t.Run("audit now starts an audit that then appears in the list", func(t *testing.T) {
		before := reporttest.Eval[int](t, p, `document.querySelectorAll("#audits tr.audit-row").length`)
		if err := chromedp.Do(p.Ctx, chromedp.Click("#audit-now"), chromedp.WaitVisible("#notice")); err != nil {
			t.Fatal(err)
		}
		if msg := reporttest.Eval[string](t, p, `document.querySelector("#notice").textContent`); !strings.Contains(msg, "Audit started") {
			t.Errorf("notice %q", msg)
		}
		// Stored first, judged after: wait for the drift verdict too.
		waitFor(t, "the manual audit to be stored and judged", func() bool {
			st := s.status("gw-02")
			return exec.count("gw-02") == 7 && st.Latest.AuditID == "hg-gw-02-007" && st.Drift == StatePassing
		})
		if err := chromedp.Do(p.Ctx, chromedp.Reload(), chromedp.WaitVisible("#audits")); err != nil {
			t.Fatal(err)
		}
		after := reporttest.Eval[int](t, p, `document.querySelectorAll("#audits tr.audit-row").length`)
		if after != before+1 {
			t.Errorf("%d audits listed after audit now, want %d", after, before+1)
		}
		if d := reporttest.Eval[string](t, p, `document.querySelector("#kpi-drift .value").textContent`); d != StatePassing {
			t.Errorf("drift after the passing audit %q, want passing", d)
		}
		reporttest.Screenshot(t, p, "serve-audit-now.png")
	})
	if errs := p.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
	for _, u := range p.Requests() {
		if !strings.HasPrefix(u, srv.URL) && !strings.HasPrefix(u, "data:") {
			t.Errorf("request outside the dashboard: %s", u)
		}
	}
}

// waitInPage waits until expr is true in the page; evaluation errors while
// the page navigates count as not yet.
func waitInPage(t *testing.T, p *reporttest.Page, expr string) {
	t.Helper()
	waitFor(t, expr, func() bool {
		ok, err := chromedp.Run(p.Ctx, chromedp.Evaluate[bool](expr))
		return err == nil && ok
	})
}
