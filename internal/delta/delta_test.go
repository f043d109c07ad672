package delta_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/delta"
	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/report/reporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	reporttest.Golden(t, name, got, *update)
}

func workedExample(t *testing.T) *delta.Delta {
	t.Helper()
	d, err := delta.Compare(reporttest.Before(), reporttest.After(), delta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestWorkedExampleDelta(t *testing.T) {
	d := workedExample(t)
	wantImproved := []string{reporttest.AuthEnforcementDisabled, reporttest.UnsafeDefaultsNotObserved,
		reporttest.InsecureTransport, reporttest.UnauthenticatedIngest}
	slices.Sort(wantImproved)
	checks := []struct {
		name string
		got  []string
		want []string
	}{
		{"the four findings improved", d.Improved, wantImproved},
		{"nothing regressed", d.Regressed, []string{}},
		{"nothing still fails", d.StillFailing, []string{}},
		{"the passing and newly applicable controls still pass", d.StillPassing,
			[]string{reporttest.ValidTokenAccepted, reporttest.HealthEndpointAvailable, reporttest.TLSModernProtocols}},
		{"MQTT stays not applicable", d.NotApplicable, []string{reporttest.MQTTAnonymousAccessBlocked}},
		{"no control is new", d.New, []string{}},
		{"no control was removed", d.Removed, []string{}},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !slices.Equal(c.got, c.want) {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
	if d.Posture.Before != "red" || d.Posture.After != "green" || d.Posture.Direction != "better" {
		t.Errorf("posture = %+v", d.Posture)
	}
	if d.Risk.Before != 31 || d.Risk.After != 0 || d.Risk.Change != -31 {
		t.Errorf("risk = %+v", d.Risk)
	}
	if d.Reference.AuditID != "audit-0002-after" {
		t.Errorf("reference = %q, want the after audit", d.Reference.AuditID)
	}
	if failed, reason, err := delta.Gate(d, ""); err != nil || failed {
		t.Errorf("default gate failed = %t (%s, %v), want pass", failed, reason, err)
	}
}

func TestDeltaGoldenFiles(t *testing.T) {
	for _, format := range delta.Formats() {
		t.Run("the worked example renders as "+format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := delta.Render(&buf, workedExample(t), format, delta.RenderOptions{}); err != nil {
				t.Fatal(err)
			}
			golden(t, "worked-example."+format+".golden", buf.Bytes())
		})
	}
	for _, format := range []string{"text", "md"} {
		t.Run("a delta with every kind of transition renders as "+format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := delta.Render(&buf, mixedDelta(t), format, delta.RenderOptions{}); err != nil {
				t.Fatal(err)
			}
			golden(t, "mixed."+format+".golden", buf.Bytes())
		})
	}
	t.Run("a regression renders as text", func(t *testing.T) {
		d, err := delta.Compare(reporttest.After(), reporttest.Before(), delta.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := delta.Render(&buf, d, "text", delta.RenderOptions{}); err != nil {
			t.Fatal(err)
		}
		golden(t, "regression.text.golden", buf.Bytes())
	})
}

// mixedDelta compares the before fixture with an after result that has a
// fix, a pass turned undecided, a failure left failing, a removed control and
// a new failing one.
func mixedDelta(t *testing.T) *delta.Delta {
	t.Helper()
	after := reporttest.Before()
	after.AuditID = "audit-0003-mixed"
	for i := range after.Controls {
		switch after.Controls[i].ID {
		case reporttest.AuthEnforcementDisabled:
			after.Controls[i].Status = report.StatusPass
		case reporttest.ValidTokenAccepted:
			after.Controls[i].Status = report.StatusError
			after.Controls[i].Reason = "connection refused"
		case reporttest.InsecureTransport:
			after.Controls[i].Status = report.StatusError
		}
	}
	after.Controls = slices.DeleteFunc(after.Controls, func(c report.ControlResult) bool { return c.ID == reporttest.MQTTAnonymousAccessBlocked })
	after.Controls = append(after.Controls, report.ControlResult{ID: "transport_tls.weak_cipher_suites", Title: "No weak cipher suite is accepted", Severity: "high", Status: report.StatusFail})
	d, err := delta.Compare(reporttest.Before(), after, delta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestMixedDelta(t *testing.T) {
	d := mixedDelta(t)
	checks := map[string][2][]string{
		"improved":      {d.Improved, {reporttest.AuthEnforcementDisabled}},
		"regressed":     {d.Regressed, {reporttest.ValidTokenAccepted}},
		"still_failing": {d.StillFailing, {reporttest.UnsafeDefaultsNotObserved, reporttest.InsecureTransport, reporttest.UnauthenticatedIngest}},
		"new_failing":   {d.NewFailing, {"transport_tls.weak_cipher_suites"}},
		"removed":       {d.Removed, {reporttest.MQTTAnonymousAccessBlocked}},
	}
	for name, c := range checks {
		if !slices.Equal(c[0], c[1]) {
			t.Errorf("%s = %v, want %v", name, c[0], c[1])
		}
	}
	if failed, why, _ := delta.Gate(d, delta.FailOnRegression); !failed || !strings.Contains(why, reporttest.ValidTokenAccepted) {
		t.Errorf("a pass that became undecided must fail the gate: %t %s", failed, why)
	}
}

func TestJSONHasTheDocumentedFields(t *testing.T) {
	var buf bytes.Buffer
	if err := delta.Render(&buf, workedExample(t), "json", delta.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"improved", "regressed", "still_failing", "still_passing", "new", "removed", "before", "after", "posture", "risk", "reference"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("field %q missing", k)
		}
	}
	if string(doc["regressed"]) != "[]" {
		t.Errorf("regressed = %s, want [] (a zero as plain as a non-zero)", doc["regressed"])
	}
}

func TestClassify(t *testing.T) {
	const (
		pass = report.StatusPass
		fail = report.StatusFail
		erro = report.StatusError
		na   = report.StatusNotApplicable
	)
	tests := []struct {
		name          string
		before, after report.Status
		want          string
	}{
		{"a fixed failure improved", fail, pass, delta.Improved},
		{"a broken pass regressed", pass, fail, delta.Regressed},
		{"a pass that can no longer be decided regressed", pass, erro, delta.Regressed},
		{"a failure that can no longer be decided still fails", fail, erro, delta.StillFailing},
		{"a failure that still fails still fails", fail, fail, delta.StillFailing},
		{"a pass that still passes still passes", pass, pass, delta.StillPassing},
		{"an undecided control that now passes passes", erro, pass, delta.StillPassing},
		{"an undecided control that now fails regressed", erro, fail, delta.Regressed},
		{"an undecided control that stays undecided is inconclusive", erro, erro, delta.Inconclusive},
		{"a control that became applicable and fails regressed", na, fail, delta.Regressed},
		{"a control that became applicable and errors regressed", na, erro, delta.Regressed},
		{"a control that became applicable and passes passes", na, pass, delta.StillPassing},
		{"a control no longer applicable is not applicable", pass, na, delta.NotApplicable},
		{"an unknown status after a pass regressed", pass, report.Status("weird"), delta.Regressed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := delta.Classify(tc.before, tc.after); got != tc.want {
				t.Errorf("Classify(%s, %s) = %s, want %s", tc.before, tc.after, got, tc.want)
			}
		})
	}
}

func TestCompareTargets(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(after *report.Result)
		allow   bool
		wantErr bool
	}{
		{"the same gateway moved from http:8080 to https:8443 is the same target", func(*report.Result) {}, false, false},
		{"another target name is refused", func(a *report.Result) { a.Target.Name = "other-gw" }, false, true},
		{"ingest on another host is refused", func(a *report.Result) { a.Target.IngestURLs = []string{"https://127.0.0.2:8443/v1/ingest"} }, false, true},
		{"another target is compared when allowed", func(a *report.Result) { a.Target.Name = "other-gw" }, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			after := reporttest.After()
			tc.mutate(after)
			d, err := delta.Compare(reporttest.Before(), after, delta.Options{AllowDifferentTargets: tc.allow})
			if tc.wantErr {
				if !errors.Is(err, delta.ErrDifferentTargets) {
					t.Fatalf("err = %v, want ErrDifferentTargets", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.allow && !d.DifferentTargets {
				t.Error("DifferentTargets not recorded")
			}
		})
	}
}

func TestNewAndRemovedControls(t *testing.T) {
	before := reporttest.After()
	after := reporttest.After()
	before.Controls = before.Controls[1:]                                                                                                                        // first control is new in after
	after.Controls = append(after.Controls[:len(after.Controls)-1:len(after.Controls)-1], report.ControlResult{ID: "zz.new_failing", Status: report.StatusFail}) // last removed, one new failing
	d, err := delta.Compare(before, after, delta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.New, []string{reporttest.AuthEnforcementDisabled, "zz.new_failing"}) {
		t.Errorf("new = %v", d.New)
	}
	if !slices.Equal(d.NewFailing, []string{"zz.new_failing"}) {
		t.Errorf("new_failing = %v", d.NewFailing)
	}
	if !slices.Equal(d.Removed, []string{reporttest.MQTTAnonymousAccessBlocked}) {
		t.Errorf("removed = %v", d.Removed)
	}
}

func TestGate(t *testing.T) {
	regressed := &delta.Delta{Regressed: []string{"a.b"}}
	stillFailing := &delta.Delta{StillFailing: []string{"a.b"}}
	newFailing := &delta.Delta{NewFailing: []string{"a.b"}}
	clean := &delta.Delta{Improved: []string{"a.b"}}
	tests := []struct {
		name   string
		d      *delta.Delta
		failOn string
		want   bool
	}{
		{"a regression fails the default gate", regressed, "", true},
		{"a regression fails the regression gate", regressed, "regression", true},
		{"a still-failing control passes the regression gate", stillFailing, "regression", false},
		{"a still-failing control fails the any gate", stillFailing, "any", true},
		{"a new failing control fails the any gate", newFailing, "any", true},
		{"a regression passes the none gate", regressed, "none", false},
		{"a clean delta passes the any gate", clean, "any", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, reason, err := delta.Gate(tc.d, tc.failOn)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("failed = %t (%s), want %t", got, reason, tc.want)
			}
		})
	}
	if _, _, err := delta.Gate(clean, "sometimes"); !errors.Is(err, delta.ErrUnknownPolicy) {
		t.Errorf("err = %v, want ErrUnknownPolicy", err)
	}
}

func TestRenderRejectsUnknownFormat(t *testing.T) {
	err := delta.Render(&bytes.Buffer{}, workedExample(t), "sarif", delta.RenderOptions{})
	if !errors.Is(err, delta.ErrUnknownFormat) || !strings.Contains(err.Error(), "html, json, md, text") {
		t.Errorf("err = %v", err)
	}
}
