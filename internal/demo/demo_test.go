package demo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/result"
)

// TestTheDemoReproducesTheWorkedExample runs the real ingestd twice on
// loopback and asserts the exact figures of DESIGN.md's worked example.
func TestTheDemoReproducesTheWorkedExample(t *testing.T) {
	dir := t.TempDir()
	var story bytes.Buffer
	out, err := Run(context.Background(), Options{Dir: dir, Out: &story, ToolVersion: "test"})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, story.String())
	}
	want, err := WorkedExample()
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Check(want); err != nil {
		t.Fatalf("%v\n%s", err, story.String())
	}
	b := out.Before.Summary
	if b.Status != "FAIL" || b.Posture != "red" || b.Findings != 4 || b.SeverityCounts["high"] != 3 || b.SeverityCounts["medium"] != 1 {
		t.Errorf("before summary %+v", b)
	}
	wantBefore := []string{
		"gateway_config_guardrails.auth_enforcement_disabled/high",
		"ingest_auth.insecure_transport/high",
		"ingest_auth.unauthenticated_ingest_allowed/high",
		"gateway_config_guardrails.unsafe_defaults_not_observable/medium",
	}
	var got []string
	for _, f := range out.Before.Findings {
		got = append(got, f.ID+"/"+f.Severity)
	}
	if strings.Join(got, " ") != strings.Join(wantBefore, " ") {
		t.Errorf("before findings %v, want %v", got, wantBefore)
	}
	red := map[string]bool{}
	for _, d := range b.Domains {
		red[d.Name] = d.Posture == result.PostureRed
	}
	for _, d := range []string{"Identity & Cryptography", "Access Control", "Data Protection"} {
		if !red[d] {
			t.Errorf("before: domain %s is not red", d)
		}
	}
	a := out.After.Summary
	if a.Status != "PASS" || a.Posture != "green" || a.RiskScore != 0 || a.Findings != 0 || len(out.After.Backlog) != 0 || !a.PositiveControlRan {
		t.Errorf("after summary %+v", a)
	}
	if out.Unauthenticated != 401 || out.Authenticated != 202 || out.Health != 200 {
		t.Errorf("runtime verification %d/%d/%d, want 401/202/200", out.Unauthenticated, out.Authenticated, out.Health)
	}
	if len(out.Delta.Improved) != 4 || len(out.Delta.Regressed) != 0 {
		t.Errorf("delta improved %v regressed %v", out.Delta.Improved, out.Delta.Regressed)
	}
	for _, name := range []string{"before.json", "after.json", "delta.json", "before.md", "after.md", "delta.md", "before.html", "after.html", "delta.html"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Size() == 0 {
			t.Errorf("%s not written: %v", name, err)
		}
	}
	f, err := os.Open(filepath.Join(dir, "after.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := result.Decode(f); err != nil {
		t.Errorf("after.json does not read back: %v", err)
	}
	for _, want := range []string{"without token → 401", "with the device token → 202", "4 improved, 0 regressions"} {
		if !strings.Contains(story.String(), want) {
			t.Errorf("story lacks %q:\n%s", want, story.String())
		}
	}
}
