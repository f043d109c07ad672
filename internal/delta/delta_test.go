package delta_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/delta"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	reporttest.Golden(t, name, got, *update)
}

// workedExample compares the real audits of the worked example (see
// reporttest.WorkedExampleBefore).
func workedExample(t *testing.T) *delta.Delta {
	t.Helper()
	d, err := delta.Compare(reporttest.WorkedExampleBefore(), reporttest.WorkedExampleAfter(), delta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestWorkedExampleDelta(t *testing.T) {
	d := workedExample(t)
	wantImproved := []string{reporttest.AuthEnforcementDisabled, reporttest.UnsafeDefaultsNotObservable,
		reporttest.InsecureTransport, reporttest.UnauthenticatedIngest}
	slices.Sort(wantImproved)
	// Passing before and after: two; not applicable over plaintext HTTP and
	// passing once TLS and tokens are in place: the positive and negative
	// token checks and every TLS check.
	wantStillPassing := []string{reporttest.TLSMinimumBelow12, reporttest.HealthUnavailable}
	// Not applicable before (no token, no TLS endpoint), passing after.
	wantNewlyPassing := []string{
		reporttest.AuthenticatedIngestRejected, "ingest_auth.invalid_token_accepted",
		"transport_tls.certificate_expired", "transport_tls.certificate_expiring_soon", "transport_tls.certificate_untrusted",
		"transport_tls.hostname_mismatch", "transport_tls.legacy_protocol_enabled", "transport_tls.no_forward_secrecy",
		reporttest.TLS13NotSupported, reporttest.WeakCipherSuites, "transport_tls.weak_dh_group",
		"transport_tls.weak_key", "transport_tls.weak_signature",
	}
	slices.Sort(wantStillPassing)
	slices.Sort(wantNewlyPassing)
	wantNotApplicable := []string{reporttest.MQTTAnonymousAccessAllowed, "mqtt_broker.credentials_not_verified",
		"mqtt_broker.plaintext_listener", "mqtt_broker.sys_topics_exposed", "mqtt_broker.wildcard_subscribe_allowed"}
	checks := []struct {
		name string
		got  []string
		want []string
	}{
		{"the four findings improved", d.Improved, wantImproved},
		{"nothing regressed", d.Regressed, []string{}},
		{"nothing still fails", d.StillFailing, []string{}},
		{"the two controls that passed before still pass", d.StillPassing, wantStillPassing},
		{"the controls that became applicable pass and are newly passing", d.NewlyPassing, wantNewlyPassing},
		{"MQTT stays not applicable", d.NotApplicable, wantNotApplicable},
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
	if d.Risk.Before != 70 || d.Risk.After != 0 || d.Risk.Change != -70 {
		t.Errorf("risk = %+v", d.Risk)
	}
	if d.Reference.AuditID != reporttest.WorkedExampleAfter().AuditID {
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
		d, err := delta.Compare(reporttest.WorkedExampleAfter(), reporttest.WorkedExampleBefore(), delta.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := delta.Render(&buf, d, "text", delta.RenderOptions{}); err != nil {
			t.Fatal(err)
		}
		golden(t, "regression.text.golden", buf.Bytes())
	})
	t.Run("an expired waiver renders as md", func(t *testing.T) {
		var buf bytes.Buffer
		if err := delta.Render(&buf, expiryDelta(t), "md", delta.RenderOptions{}); err != nil {
			t.Fatal(err)
		}
		golden(t, "waiver-expired.md.golden", buf.Bytes())
	})
}

// expiryDelta compares the worked example's before result with its waiver
// applied (on the day of the audit) to the same audit once the waiver has
// expired (2026-04-01).
func expiryDelta(t *testing.T) *delta.Delta {
	t.Helper()
	d, err := delta.Compare(reporttest.WorkedExampleBeforeWaived(reporttest.WaiverDay),
		reporttest.WorkedExampleBeforeWaived(reporttest.WaiverExpiredDay), delta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDeltaWithWaivedAndExpiredFindings(t *testing.T) {
	t.Run("a failure that a waiver now accepts is waived, not improved, and the gate passes", func(t *testing.T) {
		d, err := delta.Compare(reporttest.WorkedExampleBefore(), reporttest.WorkedExampleBeforeWaived(reporttest.WaiverDay), delta.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(d.Waived, []string{reporttest.UnsafeDefaultsNotObservable}) || len(d.Improved) != 0 || len(d.Regressed) != 0 {
			t.Fatalf("waived %v, improved %v, regressed %v", d.Waived, d.Improved, d.Regressed)
		}
		if d.Risk.Change != -10 {
			t.Errorf("risk change %d, want -10: the waived medium no longer counts", d.Risk.Change)
		}
		if failed, why, _ := delta.Gate(d, delta.FailOnRegression); failed {
			t.Errorf("gate: %s", why)
		}
	})
	t.Run("a waiver that expired makes its finding a regression and fails the gate", func(t *testing.T) {
		d := expiryDelta(t)
		if !slices.Equal(d.Regressed, []string{reporttest.UnsafeDefaultsNotObservable}) || len(d.Waived) != 0 {
			t.Fatalf("regressed %v, waived %v", d.Regressed, d.Waived)
		}
		if d.Risk.Change != 10 {
			t.Errorf("risk change %d, want +10", d.Risk.Change)
		}
		if failed, why, _ := delta.Gate(d, delta.FailOnRegression); !failed || !strings.Contains(why, reporttest.UnsafeDefaultsNotObservable) {
			t.Errorf("gate failed=%t: %s", failed, why)
		}
	})
	t.Run("the sprint fixes the waived finding: improved", func(t *testing.T) {
		d, err := delta.Compare(reporttest.WorkedExampleBeforeWaived(reporttest.WaiverDay), reporttest.WorkedExampleAfterWaived(), delta.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(d.Improved, reporttest.UnsafeDefaultsNotObservable) || len(d.Improved) != 4 || len(d.Waived) != 0 {
			t.Errorf("improved %v, waived %v", d.Improved, d.Waived)
		}
	})
}

// mixedDelta compares the worked example's before result with a synthetic
// after result derived from it: a fix (auth enforced), a pass turned
// undecided (health), a failure turned undecided (transport), a removed
// control (MQTT anonymous access) and a new failing one (weak cipher
// suites, absent from the before result as if its catalog predated it).
func mixedDelta(t *testing.T) *delta.Delta {
	t.Helper()
	before := reporttest.WorkedExampleBefore()
	before.Controls = slices.DeleteFunc(before.Controls, func(c result.ControlResult) bool { return c.ID == reporttest.WeakCipherSuites })
	before.Summary.Controls.Total--
	before.Summary.Controls.NotApplicable--
	after := reporttest.WorkedExampleBefore()
	after.AuditID = "hg-0000000000000003"
	after.StartedAt, after.FinishedAt = after.StartedAt.Add(72*time.Hour), after.FinishedAt.Add(72*time.Hour)
	for i := range after.Controls {
		switch after.Controls[i].ID {
		case reporttest.AuthEnforcementDisabled:
			after.Controls[i].Status = result.StatusPass
		case reporttest.HealthUnavailable:
			after.Controls[i].Status = result.StatusError
			after.Controls[i].Reason = "connection refused"
		case reporttest.InsecureTransport:
			after.Controls[i].Status = result.StatusError
		case reporttest.WeakCipherSuites:
			after.Controls[i].Status = result.StatusFail
		}
	}
	after.Controls = slices.DeleteFunc(after.Controls, func(c result.ControlResult) bool { return c.ID == reporttest.MQTTAnonymousAccessAllowed })
	d, err := delta.Compare(before, after, delta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestMixedDelta(t *testing.T) {
	d := mixedDelta(t)
	checks := map[string][2][]string{
		"improved":      {d.Improved, {reporttest.AuthEnforcementDisabled}},
		"regressed":     {d.Regressed, {reporttest.HealthUnavailable}},
		"still_failing": {d.StillFailing, {reporttest.UnsafeDefaultsNotObservable, reporttest.InsecureTransport, reporttest.UnauthenticatedIngest}},
		"new_failing":   {d.NewFailing, {reporttest.WeakCipherSuites}},
		"removed":       {d.Removed, {reporttest.MQTTAnonymousAccessAllowed}},
	}
	for name, c := range checks {
		if !slices.Equal(c[0], c[1]) {
			t.Errorf("%s = %v, want %v", name, c[0], c[1])
		}
	}
	if failed, why, _ := delta.Gate(d, delta.FailOnRegression); !failed || !strings.Contains(why, reporttest.HealthUnavailable) {
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
		pass   = result.StatusPass
		fail   = result.StatusFail
		erro   = result.StatusError
		na     = result.StatusNotApplicable
		waived = result.StatusWaived
	)
	tests := []struct {
		name          string
		before, after result.Status
		want          string
	}{
		{"a fixed failure improved", fail, pass, delta.Improved},
		{"a broken pass regressed", pass, fail, delta.Regressed},
		{"a pass that can no longer be decided regressed", pass, erro, delta.Regressed},
		{"a failure that can no longer be decided still fails", fail, erro, delta.StillFailing},
		{"a failure that still fails still fails", fail, fail, delta.StillFailing},
		{"a pass that still passes still passes", pass, pass, delta.StillPassing},
		{"an undecided control that now passes is newly passing", erro, pass, delta.NewlyPassing},
		{"an undecided control that now fails regressed", erro, fail, delta.Regressed},
		{"an undecided control that stays undecided is inconclusive", erro, erro, delta.Inconclusive},
		{"a control that became applicable and fails regressed", na, fail, delta.Regressed},
		{"a control that became applicable and errors regressed", na, erro, delta.Regressed},
		{"a control that became applicable and passes is newly passing", na, pass, delta.NewlyPassing},
		{"a control no longer applicable is not applicable", pass, na, delta.NotApplicable},
		{"an unknown status after a pass regressed", pass, result.Status("weird"), delta.Regressed},
		{"a failure now waived is waived, never improved", fail, waived, delta.Waived},
		{"a waived failure that stays waived is waived", waived, waived, delta.Waived},
		{"a waived failure that fails again (expired) regressed", waived, fail, delta.Regressed},
		{"a waived failure that now passes improved", waived, pass, delta.Improved},
		{"a waived failure that can no longer be decided still fails", waived, erro, delta.StillFailing},
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
		mutate  func(after *result.Result)
		allow   bool
		wantErr bool
	}{
		{"the same gateway moved from http:8080 to https:8443 is the same target", func(*result.Result) {}, false, false},
		{"another target name is refused", func(a *result.Result) { a.Target.Name = "other-gw" }, false, true},
		{"ingest on another host is refused", func(a *result.Result) { a.Target.IngestURLs = []string{"https://127.0.0.2:8443/v1/ingest"} }, false, true},
		{"another target is compared when allowed", func(a *result.Result) { a.Target.Name = "other-gw" }, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			after := reporttest.WorkedExampleAfter()
			tc.mutate(after)
			d, err := delta.Compare(reporttest.WorkedExampleBefore(), after, delta.Options{AllowDifferentTargets: tc.allow})
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
	drop := func(res *result.Result, ids ...string) {
		res.Controls = slices.DeleteFunc(res.Controls, func(c result.ControlResult) bool { return slices.Contains(ids, c.ID) })
	}
	// As if the catalog gained two controls and lost one between the audits.
	before := reporttest.WorkedExampleAfter()
	drop(before, reporttest.AuthEnforcementDisabled, reporttest.WeakCipherSuites)
	after := reporttest.WorkedExampleAfter()
	drop(after, reporttest.MQTTAnonymousAccessAllowed)
	reporttest.Control(after, reporttest.WeakCipherSuites).Status = result.StatusFail
	d, err := delta.Compare(before, after, delta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.New, []string{reporttest.AuthEnforcementDisabled, reporttest.WeakCipherSuites}) {
		t.Errorf("new = %v", d.New)
	}
	if !slices.Equal(d.NewFailing, []string{reporttest.WeakCipherSuites}) {
		t.Errorf("new_failing = %v", d.NewFailing)
	}
	if !slices.Equal(d.Removed, []string{reporttest.MQTTAnonymousAccessAllowed}) {
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

func TestSameTargetNames(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"equal names are the same target", "plant-gateway", "plant-gateway", true},
		{"an old host:port default name matches the bare host", "127.0.0.1:8080", "127.0.0.1", true},
		{"two old defaults on other ports of one host match", "127.0.0.1:8080", "127.0.0.1:8443", true},
		{"an IPv6 host:port matches its host", "[::1]:8443", "::1", true},
		{"another host is another target", "127.0.0.1:8080", "localhost", false},
		{"a name with a colon that is not host:port is kept whole", "plant:gw", "plant", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			same, why := delta.SameTarget(result.Target{Name: tt.a}, result.Target{Name: tt.b})
			if same != tt.same {
				t.Fatalf("SameTarget(%q, %q) = %v (%s), want %v", tt.a, tt.b, same, why, tt.same)
			}
		})
	}
}

func TestMarkdownTargetNameCannotInjectALink(t *testing.T) {
	t.Parallel()
	const hostile = "gw [verify your account](https://evil.example/login) <img src=x>"
	before, after := reporttest.WorkedExampleBefore(), reporttest.WorkedExampleAfter()
	before.Target.Name, after.Target.Name = hostile, hostile
	d, err := delta.Compare(before, after, delta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := delta.Render(&buf, d, "md", delta.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	// Only escaped brackets may remain: no [text](url) link can form.
	plain := strings.NewReplacer(`\[`, "", `\]`, "").Replace(md)
	if strings.ContainsAny(plain, "[]") || strings.Contains(md, "<img") {
		t.Errorf("delta.md lets the target name inject markup:\n%s", md)
	}
	if !strings.Contains(md, `\[verify your account\]`) {
		t.Errorf("delta.md does not show the escaped name:\n%s", md)
	}
}
