package report_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
)

func render(t *testing.T, res *result.Result, format string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := report.Render(&buf, res, format, report.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestSARIFMarksAWaivedFindingAsAnExternalSuppression(t *testing.T) {
	sch := compileSARIFSchema(t)
	for name, res := range map[string]*result.Result{
		"waived":                  reporttest.WorkedExampleBeforeWaived(reporttest.WaiverDay),
		"with its waiver expired": reporttest.WorkedExampleBeforeWaived(reporttest.WaiverExpiredDay),
		"stale after the sprint":  reporttest.WorkedExampleAfterWaived(),
	} {
		t.Run("the worked example "+name+" is valid SARIF 2.1.0", func(t *testing.T) {
			out := render(t, res, "sarif")
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(inst); err != nil {
				t.Fatalf("SARIF with waivers does not validate: %v", err)
			}
			var doc struct {
				Runs []struct {
					Results []struct {
						RuleID       string `json:"ruleId"`
						Suppressions []struct {
							Kind, Justification string
							Properties          map[string]string
						} `json:"suppressions"`
					} `json:"results"`
				} `json:"runs"`
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			suppressed := 0
			for _, r := range doc.Runs[0].Results {
				if len(r.Suppressions) == 0 {
					continue
				}
				suppressed++
				sp := r.Suppressions[0]
				if r.RuleID != reporttest.UnsafeDefaultsNotObservable || sp.Kind != "external" ||
					!strings.Contains(sp.Justification, "ticket OPS-412") || sp.Properties["expires"] != "2026-03-31" {
					t.Errorf("suppression of %s: %+v", r.RuleID, sp)
				}
			}
			if want := len(res.Waived); suppressed != want || len(doc.Runs[0].Results) != len(res.Findings)+len(res.Waived) {
				t.Errorf("%d suppressed of %d results, want %d of %d", suppressed, len(doc.Runs[0].Results), want, len(res.Findings)+want)
			}
		})
	}
}

func TestJUnitSkipsAWaivedControlWithItsJustification(t *testing.T) {
	res := reporttest.WorkedExampleBeforeWaived(reporttest.WaiverDay)
	var doc struct {
		Failures int `xml:"failures,attr"`
		Skipped  int `xml:"skipped,attr"`
		Suite    struct {
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
				Skipped *struct {
					Message string `xml:"message,attr"`
				} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(render(t, res, "junit")), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Failures != 3 || doc.Skipped != res.Summary.Controls.NotApplicable+1 {
		t.Errorf("failures %d, skipped %d: want 3 and the not-applicable controls plus the waived one", doc.Failures, doc.Skipped)
	}
	for _, c := range doc.Suite.Cases {
		if !strings.HasPrefix(c.Name, reporttest.UnsafeDefaultsNotObservable) {
			continue
		}
		if c.Failure != nil || c.Skipped == nil || c.Skipped.Message != "waived until 2026-03-31 (owner platform team): legacy dashboards page on every unsafe-setting log line; silenced until they read ingestd_unsafe_setting (ticket OPS-412)" {
			t.Errorf("the waived testcase: failure %v, skipped %+v", c.Failure, c.Skipped)
		}
	}
}

func TestMarkdownAndTextShowWaiversInTheirOwnSection(t *testing.T) {
	tests := []struct {
		name    string
		res     *result.Result
		md, txt []string
		not     []string
	}{
		{"a waived finding", reporttest.WorkedExampleBeforeWaived(reporttest.WaiverDay),
			[]string{"## Waived findings (1)", "### W1. [MEDIUM] `" + reporttest.UnsafeDefaultsNotObservable + "`", "- Waived until: **2026-03-31** (owner: platform team)",
				"where the evidence contains `guardrails.legacy_silence_unsafe = true`", "| Waived | 1 finding(s) waived as accepted risk, not counted; 0 waiver(s) expired, 0 stale |",
				"| Findings | 3 (0 critical, 3 high, 0 medium, 0 low, 0 info) |", "| " + "`" + reporttest.UnsafeDefaultsNotObservable + "` | WAIVED (accepted risk) |"},
			[]string{"Risk score: 60", "Waived (accepted risk, not counted):\n  MEDIUM  " + reporttest.UnsafeDefaultsNotObservable + ": until 2026-03-31, owner platform team:"},
			[]string{"### 2. [MEDIUM]", "Expired waivers"}},
		{"an expired waiver", reporttest.WorkedExampleBeforeWaived(reporttest.WaiverExpiredDay),
			[]string{"## Waived findings (0)", "No waived findings.", "### Expired waivers (ignored: what they covered counts again)", "| 2026-03-31 | platform team |",
				"1 waiver(s) expired and no longer apply: " + strings.ReplaceAll(reporttest.UnsafeDefaultsNotObservable, "_", `\_`)},
			[]string{"Risk score: 70", "Waived: 0 finding(s) waived as accepted risk, not counted; 1 waiver(s) expired, 0 stale"},
			[]string{"### W1."}},
		{"a stale waiver", reporttest.WorkedExampleAfterWaived(),
			[]string{"### Stale waivers (they match no failed control of this audit)", "targets plant-gateway"},
			[]string{"1 waiver(s) match no failed control"},
			[]string{"### Expired waivers"}},
		{"no waivers file", reporttest.WorkedExampleBefore(), nil, nil, []string{"Waived", "WAIVED"}},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is reported", func(t *testing.T) {
			md, txt := render(t, tc.res, "md"), render(t, tc.res, "text")
			for _, want := range tc.md {
				if !strings.Contains(md, want) {
					t.Errorf("markdown lacks %q", want)
				}
			}
			for _, want := range tc.txt {
				if !strings.Contains(txt, want) {
					t.Errorf("text lacks %q:\n%s", want, txt)
				}
			}
			for _, bad := range tc.not {
				if strings.Contains(md, bad) || strings.Contains(txt, bad) {
					t.Errorf("output has %q", bad)
				}
			}
		})
	}
}
