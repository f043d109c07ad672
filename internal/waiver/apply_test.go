package waiver_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/waiver"
)

const (
	authDisabled = reporttest.AuthEnforcementDisabled
	unsafeHidden = reporttest.UnsafeDefaultsNotObservable
	insecure     = reporttest.InsecureTransport
	health       = reporttest.HealthUnavailable
)

// set parses and validates a waivers file against the real catalog at day.
func set(t *testing.T, yaml string) *waiver.Set {
	t.Helper()
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	f, err := waiver.Parse(strings.NewReader(yaml))
	if err != nil {
		t.Fatal(err)
	}
	s, err := waiver.NewSet(f, cat, waiver.Options{Now: day})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// one is a waivers file with one waiver of control, with the extra lines
// (selector, match, expiry) given.
func one(control string, lines ...string) string {
	w := "waivers:\n  - control: " + control + "\n    justification: legacy migration OPS-412\n    owner: platform team\n"
	for _, l := range lines {
		w += "    " + l + "\n"
	}
	if !strings.Contains(w, "expires:") {
		w += "    expires: 2026-03-31\n"
	}
	return w
}

func TestApplyMatchesByTargetLabelAndEvidence(t *testing.T) {
	tests := []struct {
		name       string
		waivers    string
		labels     map[string]string
		wantWaived bool
	}{
		{"a waiver naming the target waives its finding", one(authDisabled, "targets: [plant-gateway]"), nil, true},
		{"a waiver naming another target does not", one(authDisabled, "targets: [gw-0007]"), nil, false},
		{"a waiver selecting the target's label waives", one(authDisabled, "labels: {site: plant-1}"), map[string]string{"site": "plant-1", "model": "pi4"}, true},
		{"a waiver whose label value differs does not", one(authDisabled, "labels: {site: plant-2}"), map[string]string{"site": "plant-1"}, false},
		{"a label the target lacks does not match", one(authDisabled, "labels: {site: plant-1}"), nil, false},
		{"targets and labels together must both hold", one(authDisabled, "targets: [plant-gateway]", "labels: {site: plant-2}"), map[string]string{"site": "plant-1"}, false},
		{"a match found in the evidence waives", one(insecure, "targets: [plant-gateway]", `match: "listen.http = 127.0.0.1:8080"`), nil, true},
		{"a match absent from the evidence does not", one(insecure, "targets: [plant-gateway]", `match: "listen.https"`), nil, false},
		{"a match is case-sensitive", one(insecure, "targets: [plant-gateway]", `match: "LISTEN.HTTP"`), nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := reporttest.WorkedExampleBefore()
			res.Target.Labels = tc.labels
			s := set(t, tc.waivers)
			waiver.Apply(res, s, day)
			id := authDisabled
			if strings.Contains(tc.waivers, insecure) {
				id = insecure
			}
			c := reporttest.Control(res, id)
			if got := c.Status == result.StatusWaived; got != tc.wantWaived {
				t.Fatalf("%s is %s, want waived=%v", id, c.Status, tc.wantWaived)
			}
			if !tc.wantWaived {
				if c.Status != result.StatusFail || c.Waiver != nil || res.Summary.RiskScore != 70 || len(res.Waived) != 0 {
					t.Errorf("an unmatched waiver changed the result: %s, risk %d, %d waived", c.Status, res.Summary.RiskScore, len(res.Waived))
				}
				return
			}
			if c.Waiver == nil || c.Waiver.Justification != "legacy migration OPS-412" || c.Waiver.Expires != "2026-03-31" || len(c.Evidence) == 0 {
				t.Errorf("waived control %+v: want its waiver and its evidence", c)
			}
			s2 := res.Summary
			if s2.Status != result.AuditFail || s2.Posture != result.PostureRed || s2.RiskScore != 50 || s2.Findings != 3 || len(res.Backlog) != 3 {
				t.Errorf("summary %s %s risk %d, %d findings, %d backlog; want FAIL red 50, 3, 3", s2.Status, s2.Posture, s2.RiskScore, s2.Findings, len(res.Backlog))
			}
			if s2.Waivers.Waived != 1 || len(res.Waived) != 1 || res.Waived[0].ID != id || res.Waived[0].Waiver == nil {
				t.Errorf("waived %+v, counts %+v", res.Waived, s2.Waivers)
			}
		})
	}
}

func TestAWaivedFindingNeverBecomesAPass(t *testing.T) {
	res := reporttest.WorkedExampleBefore()
	s := set(t, "waivers:\n"+strings.Join([]string{
		item(authDisabled), item(unsafeHidden), item(insecure), item(reporttest.UnauthenticatedIngest)}, ""))
	waiver.Apply(res, s, day)
	if res.Summary.Status != result.AuditPass || res.Summary.Posture != result.PostureGreen || res.Summary.RiskScore != 0 || len(res.Backlog) != 0 {
		t.Fatalf("summary %+v: with every finding waived nothing counts", res.Summary)
	}
	if res.Summary.Controls.Pass != 2 || res.Summary.Controls.Waived != 4 || res.Summary.Controls.Fail != 0 {
		t.Errorf("controls %+v: the waived ones are waived, not passed", res.Summary.Controls)
	}
	if !strings.Contains(res.Summary.Headline, "4 finding(s) waived") {
		t.Errorf("headline %q does not say what is waived", res.Summary.Headline)
	}
}

func item(control string) string {
	return "  - {control: " + control + ", targets: [plant-gateway], justification: j, owner: o, expires: 2026-03-31}\n"
}

func TestExpiryFollowsTheInjectedClock(t *testing.T) {
	s := set(t, one(authDisabled, "targets: [plant-gateway]", "expires: 2026-03-31"))
	tests := []struct {
		name        string
		now         time.Time
		wantWaived  bool
		wantExpired int
	}{
		{"a morning long before the last day", day, true, 0},
		{"the last minute of the last day", time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC), true, 0},
		{"midnight after the last day", time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), false, 1},
		{"a year later", time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC), false, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := reporttest.WorkedExampleBefore()
			out := waiver.Apply(res, s, tc.now)
			waived := reporttest.Control(res, authDisabled).Status == result.StatusWaived
			if waived != tc.wantWaived || len(res.Waivers.Expired) != tc.wantExpired || res.Summary.Waivers.Expired != tc.wantExpired {
				t.Fatalf("waived %v, expired %v; want %v, %d", waived, res.Waivers.Expired, tc.wantWaived, tc.wantExpired)
			}
			if out[0].Expired != (tc.wantExpired == 1) || !res.Waivers.CheckedAt.Equal(tc.now) {
				t.Errorf("outcome %+v, checked at %s", out[0], res.Waivers.CheckedAt)
			}
			if tc.wantExpired == 1 && (res.Summary.RiskScore != 70 || !strings.Contains(strings.Join(res.Summary.Notes, " "), "expired and no longer apply")) {
				t.Errorf("an expired waiver still counts: risk %d, notes %q", res.Summary.RiskScore, res.Summary.Notes)
			}
		})
	}
	t.Run("applying again later undoes what expired", func(t *testing.T) {
		res := reporttest.WorkedExampleBefore()
		waiver.Apply(res, s, day)
		waiver.Apply(res, s, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
		if c := reporttest.Control(res, authDisabled); c.Status != result.StatusFail || c.Waiver != nil || len(res.Waived) != 0 || res.Summary.RiskScore != 70 {
			t.Errorf("after expiry: %s, waiver %v, %d waived, risk %d", c.Status, c.Waiver, len(res.Waived), res.Summary.RiskScore)
		}
	})
}

func TestStaleAndUnknownControlWaivers(t *testing.T) {
	t.Run("a waiver of a passing control is reported stale", func(t *testing.T) {
		res := reporttest.WorkedExampleBefore()
		s := set(t, one(health, "targets: [plant-gateway]"))
		out := waiver.Apply(res, s, day)
		if len(res.Waivers.Stale) != 1 || res.Waivers.Stale[0].Control != health || res.Summary.Waivers.Stale != 1 {
			t.Fatalf("stale %+v, counts %+v", res.Waivers.Stale, res.Summary.Waivers)
		}
		if !strings.Contains(strings.Join(res.Summary.Notes, " "), "match no failed control") {
			t.Errorf("notes %q do not report the stale waiver", res.Summary.Notes)
		}
		if unused := s.Unused(out); len(unused) != 1 {
			t.Errorf("Unused = %v", unused)
		}
	})
	t.Run("the after audit makes the before audit's waiver stale", func(t *testing.T) {
		s := set(t, one(authDisabled, "targets: [plant-gateway]"))
		before, after := reporttest.WorkedExampleBefore(), reporttest.WorkedExampleAfter()
		ob, oa := waiver.Apply(before, s, day), waiver.Apply(after, s, day)
		if len(before.Waivers.Stale) != 0 || len(after.Waivers.Stale) != 1 {
			t.Errorf("stale before %v, after %v", before.Waivers.Stale, after.Waivers.Stale)
		}
		if unused := s.Unused(ob, oa); len(unused) != 0 {
			t.Errorf("a waiver used in one of two results is not unused: %v", unused)
		}
	})
	t.Run("a waiver for another target is neither stale nor expired here", func(t *testing.T) {
		res := reporttest.WorkedExampleBefore()
		waiver.Apply(res, set(t, one(health, "targets: [gw-0007]", "expires: 2026-01-01")), day)
		if len(res.Waivers.Stale)+len(res.Waivers.Expired) != 0 {
			t.Errorf("waivers %+v", res.Waivers)
		}
	})
	t.Run("a waiver for a control the catalog lacks is an error", func(t *testing.T) {
		cat, _ := catalog.Load()
		f, _ := waiver.Parse(strings.NewReader(one("transport_tls.weak_ciphers", "targets: [gw-0007]")))
		_, err := waiver.NewSet(f, cat, waiver.Options{Now: day})
		if err == nil || !strings.Contains(err.Error(), `waivers[0].control (line 2): is not a control of the catalog (hardgate controls lists them) (got "transport_tls.weak_ciphers")`) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestAWaivedResultMatchesTheResultSchema(t *testing.T) {
	sch, err := jsonschema.NewCompiler().Compile(filepath.Join("..", "..", "docs", "result.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	res := reporttest.WorkedExampleBefore()
	res.Target.Labels = map[string]string{"site": "plant-1"}
	s := set(t, one(authDisabled, "labels: {site: plant-1}")+item(health)+
		"  - {control: "+insecure+", targets: [plant-gateway], justification: j, owner: o, expires: 2026-01-01}\n")
	waiver.Apply(res, s, day)
	if len(res.Waived) != 1 || len(res.Waivers.Stale) != 1 || len(res.Waivers.Expired) != 1 {
		t.Fatalf("waived %d, stale %d, expired %d; want one of each", len(res.Waived), len(res.Waivers.Stale), len(res.Waivers.Expired))
	}
	var buf bytes.Buffer
	if err := result.Encode(&buf, res); err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("a result with waivers does not match docs/result.schema.json: %v", err)
	}
	back, err := result.Decode(&buf)
	if err != nil || back.Waived[0].Waiver.Labels["site"] != "plant-1" {
		t.Fatalf("decode: %v", err)
	}
}

// TestOneSetAppliesToManyResultsConcurrently: a fleet applies one set to
// its results from several goroutines (run with -race).
func TestOneSetAppliesToManyResultsConcurrently(t *testing.T) {
	s := set(t, one(authDisabled, "labels: {site: plant-1}"))
	results := make([]*result.Result, 8)
	done := make(chan waiver.Outcome, len(results))
	for i := range results {
		results[i] = reporttest.WorkedExampleBefore()
		results[i].Target.Labels = map[string]string{"site": "plant-1"}
		go func(res *result.Result) { done <- waiver.Apply(res, s, day) }(results[i])
	}
	var outcomes []waiver.Outcome
	for range results {
		outcomes = append(outcomes, <-done)
	}
	for _, res := range results {
		if reporttest.Control(res, authDisabled).Status != result.StatusWaived {
			t.Fatal("a result was not waived")
		}
	}
	if unused := s.Unused(outcomes...); len(unused) != 0 {
		t.Errorf("unused %v", unused)
	}
}
