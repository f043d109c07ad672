package compliance_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/compliance"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func load(t *testing.T, id string) (*catalog.Catalog, *catalog.Framework) {
	t.Helper()
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	fw, err := catalog.FrameworkByID(id)
	if err != nil {
		t.Fatal(err)
	}
	return cat, fw
}

// TestEveryViewOfTheWorkedExampleMatchesItsGoldenFile renders each
// framework's view of the worked example's before and after results in
// every format.
func TestEveryViewOfTheWorkedExampleMatchesItsGoldenFile(t *testing.T) {
	results := map[string]func() *result.Result{"before": reporttest.WorkedExampleBefore, "after": reporttest.WorkedExampleAfter}
	for _, fwID := range catalog.FrameworkIDs() {
		for name, res := range results {
			for _, format := range compliance.Formats {
				t.Run(fwID+" of the "+name+" result as "+format, func(t *testing.T) {
					cat, fw := load(t, fwID)
					var buf bytes.Buffer
					if err := compliance.Render(&buf, compliance.Build(res(), cat, fw), format); err != nil {
						t.Fatal(err)
					}
					reporttest.Golden(t, "worked-example-"+name+"."+fwID+"."+format+".golden", buf.Bytes(), *update)
				})
			}
		}
	}
}

func provision(t *testing.T, v *compliance.View, id string) compliance.Provision {
	t.Helper()
	for _, p := range v.Provisions {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("no provision %s", id)
	return compliance.Provision{}
}

func TestTheWorkedExampleThroughEachFramework(t *testing.T) {
	tests := []struct {
		fw, res, provision, state string
	}{
		{"etsi-en-303-645", "before", "5.5-5", compliance.StateFailure},
		{"etsi-en-303-645", "before", "5.5-1", compliance.StateFailure},
		{"etsi-en-303-645", "after", "5.5-1", compliance.StateConsistent},
		{"etsi-en-303-645", "after", "5.2-1", compliance.StateOutside},
		{"etsi-en-303-645", "after", "5.1-1", compliance.StateConsistent},
		{"en-18031-1", "before", "SCM-3", compliance.StateFailure},
		{"en-18031-1", "before", "CRY-1", compliance.StateFailure},
		{"en-18031-1", "before", "CCK-1", compliance.StateNotTested},
		{"en-18031-1", "after", "SCM-3", compliance.StateConsistent},
		{"en-18031-1", "after", "SUM-2", compliance.StateOutside},
		{"iec-62443-4-2", "before", "CR 2.1", compliance.StateFailure},
		{"iec-62443-4-2", "after", "NDR 3.10", compliance.StateOutside},
		{"owasp-iot-2018", "before", "I9", compliance.StateFailure},
		{"owasp-iot-2018", "after", "I4", compliance.StateOutside},
		{"nist-ir-8259a", "after", "Software Update", compliance.StateOutside},
		{"nist-ir-8259a", "after", "Data Protection", compliance.StateConsistent},
	}
	for _, tc := range tests {
		t.Run(tc.fw+" "+tc.provision+" of the "+tc.res+" result is "+tc.state, func(t *testing.T) {
			cat, fw := load(t, tc.fw)
			res := reporttest.WorkedExampleBefore()
			if tc.res == "after" {
				res = reporttest.WorkedExampleAfter()
			}
			v := compliance.Build(res, cat, fw)
			if p := provision(t, v, tc.provision); p.State != tc.state {
				t.Fatalf("%s is %s (%s), want %s; controls %+v", tc.provision, p.State, p.Why, tc.state, p.Controls)
			}
			total := 0
			for _, n := range v.Counts {
				total += n
			}
			if total != len(fw.Provisions) || len(v.Provisions) != len(fw.Provisions) {
				t.Errorf("counts %v cover %d of %d provisions", v.Counts, total, len(fw.Provisions))
			}
			if v.Counts[compliance.StateOutside] == 0 || !strings.Contains(v.Disclaimer, "not a certification") {
				t.Errorf("the view must list what is outside the audit and never read as certification: %v, %q", v.Counts, v.Disclaimer)
			}
		})
	}
}

func TestStatesFollowTheVerdicts(t *testing.T) {
	cat, fw := load(t, "etsi-en-303-645")
	tests := []struct {
		name     string
		statuses map[string]result.Status // 5.5-5: four ingest/config/mqtt controls among others
		want     string
	}{
		{"one failure among passes is evidence of failure", map[string]result.Status{reporttest.UnauthenticatedIngest: result.StatusFail}, compliance.StateFailure},
		{"a waived failure is still evidence of failure", map[string]result.Status{reporttest.UnauthenticatedIngest: result.StatusWaived}, compliance.StateFailure},
		{"an undecided control leaves it not tested, never consistent", map[string]result.Status{reporttest.UnauthenticatedIngest: result.StatusError}, compliance.StateNotTested},
		{"passes beside not-applicable controls are consistent", map[string]result.Status{}, compliance.StateConsistent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := reporttest.WorkedExampleAfter()
			for i := range res.Controls {
				if s, ok := tc.statuses[res.Controls[i].ID]; ok {
					res.Controls[i].Status = s
				}
			}
			if p := provision(t, compliance.Build(res, cat, fw), "5.5-5"); p.State != tc.want {
				t.Fatalf("5.5-5 is %s (%s), want %s", p.State, p.Why, tc.want)
			}
		})
	}
	t.Run("controls that did not apply leave it not tested", func(t *testing.T) {
		res := reporttest.WorkedExampleAfter()
		for i := range res.Controls {
			res.Controls[i].Status = result.StatusNotApplicable
		}
		if p := provision(t, compliance.Build(res, cat, fw), "5.5-5"); p.State != compliance.StateNotTested {
			t.Fatalf("5.5-5 is %s", p.State)
		}
	})
	t.Run("controls absent from the result leave it not tested, and unknown ones are noted", func(t *testing.T) {
		res := reporttest.WorkedExampleAfter()
		res.Controls = []result.ControlResult{{ID: "custom.site_rule", Status: result.StatusFail}}
		v := compliance.Build(res, cat, fw)
		if p := provision(t, v, "5.5-1"); p.State != compliance.StateNotTested || p.Controls[0].Status != compliance.StatusAbsent {
			t.Fatalf("5.5-1: %+v", p)
		}
		if len(v.Notes) != 1 || !strings.Contains(v.Notes[0], "custom.site_rule") {
			t.Errorf("notes %q", v.Notes)
		}
	})
}

func TestAWaivedFindingShowsItsWaiverInTheView(t *testing.T) {
	cat, fw := load(t, "etsi-en-303-645")
	v := compliance.Build(reporttest.WorkedExampleBeforeWaived(reporttest.WaiverDay), cat, fw)
	p := provision(t, v, "5.10-1")
	if p.State != compliance.StateFailure || !strings.Contains(p.Why, "1 waived as accepted risk") {
		t.Fatalf("5.10-1: %s (%s)", p.State, p.Why)
	}
	var md bytes.Buffer
	if err := compliance.Render(&md, v, "md"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "`gateway_config_guardrails.unsafe_defaults_not_observable` WAIVED (accepted risk) until 2026-03-31") {
		t.Errorf("the md view does not show the waiver:\n%s", md.String())
	}
}

func TestTheHTMLViewIsSelfContainedAndTheJSONViewDecodes(t *testing.T) {
	cat, fw := load(t, "en-18031-1")
	v := compliance.Build(reporttest.WorkedExampleBefore(), cat, fw)
	var html, js bytes.Buffer
	if err := compliance.Render(&html, v, "html"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "src=\"http", "href=\"http", "@import"} {
		if strings.Contains(html.String(), bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
	if !strings.Contains(html.String(), "default-src 'none'") || strings.Count(html.String(), "data-provision=") != len(fw.Provisions) {
		t.Error("the HTML view lacks its CSP or a row per requirement")
	}
	if err := compliance.Render(&js, v, "json"); err != nil {
		t.Fatal(err)
	}
	var back compliance.View
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Provisions) != 33 || back.Framework.ID != "en-18031-1" {
		t.Fatalf("json view: %v, %d provisions", err, len(back.Provisions))
	}
	if err := compliance.Render(&js, v, "pdf"); err == nil {
		t.Error("an unknown format rendered")
	}
}
