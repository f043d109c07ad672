package demo

import (
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/delta"
	"github.com/hardgate/hardgate/internal/report/reporttest"
)

// fixtureOutcome is the worked example's outcome from the stored fixtures,
// without running the demo.
func fixtureOutcome(t *testing.T) *Outcome {
	t.Helper()
	before, after := reporttest.WorkedExampleBefore(), reporttest.WorkedExampleAfter()
	d, err := delta.Compare(before, after, delta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &Outcome{Before: before, After: after, Delta: d, Unauthenticated: 401, Authenticated: 202, Health: 200}
}

func TestCheckComparesTheOutcomeWithTheExamplesData(t *testing.T) {
	t.Parallel()
	if want, err := WorkedExample(); err != nil {
		t.Fatal(err)
	} else if err := fixtureOutcome(t).Check(want); err != nil {
		t.Fatalf("the stored worked example does not meet examples/gateway-hardening/expected.yaml: %v", err)
	}
	tests := []struct {
		name   string
		change func(e *Expectation)
		want   string
	}{
		{"another risk score is a difference", func(e *Expectation) { e.Before.RiskScore = 71 }, "before: FAIL red, risk 70"},
		{"another severity of one finding is a difference", func(e *Expectation) {
			e.Before.Findings["gateway_config_guardrails.unsafe_defaults_not_observable"] = "high"
		}, "before: findings"},
		{"a missing red domain is a difference", func(e *Expectation) { e.Before.RedDomains = e.Before.RedDomains[:2] }, "before: red domains"},
		{"another runtime status is a difference", func(e *Expectation) { e.Runtime.Authenticated = 200 }, "runtime: 401/202/200, want 401/200/200"},
		{"a regression expected is a difference", func(e *Expectation) { e.Delta.Regressed = []string{"x.y"} }, "delta:"},
		{"a finding after the sprint is a difference", func(e *Expectation) { e.After.Findings = map[string]string{"x.y": "low"} }, "after: findings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := WorkedExample()
			if err != nil {
				t.Fatal(err)
			}
			tt.change(want)
			if err := fixtureOutcome(t).Check(want); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	if got, want := fixtureOutcome(t).Summary(), "before FAIL red (4 findings: 3 high, 1 medium) → after PASS green, risk 0; 4 improved, 0 regressions"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
}

func TestParseExpectationIsStrict(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, yaml, want string }{
		{"an unknown key is refused", "before: {status: FAIL, colour: red}\nafter: {status: PASS}\n", "colour"},
		{"a missing status is refused", "before: {posture: red}\nafter: {status: PASS}\n", "status"},
		{"an empty file is refused", "", "expectation"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseExpectation([]byte(tt.yaml)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseExpectation = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
