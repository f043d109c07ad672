package demo

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hardgate/hardgate/examples"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/scoring"
)

// Expectation is the worked example as figures. It is data, not code: it
// lives in examples/gateway-hardening/expected.yaml, beside the configs the
// demo runs, so the demo is never its own oracle.
type Expectation struct {
	Before  AuditExpectation `yaml:"before"`
	After   AuditExpectation `yaml:"after"`
	Runtime struct {
		Unauthenticated int `yaml:"unauthenticated_ingest"`
		Authenticated   int `yaml:"authenticated_ingest"`
		Health          int `yaml:"health"`
	} `yaml:"runtime"`
	Delta struct {
		Improved  []string `yaml:"improved"`
		Regressed []string `yaml:"regressed"`
	} `yaml:"delta"`
}

// AuditExpectation is what one audit of the example must find.
type AuditExpectation struct {
	Status    string `yaml:"status"`
	Posture   string `yaml:"posture"`
	RiskScore int    `yaml:"risk_score"`
	// Findings maps each finding's control id to its severity.
	Findings   map[string]string `yaml:"findings"`
	RedDomains []string          `yaml:"red_domains"`
	Backlog    int               `yaml:"backlog"`
}

// WorkedExample reads the expectation that examples embeds.
func WorkedExample() (*Expectation, error) { return ParseExpectation(examples.WorkedExample) }

// ParseExpectation decodes an expectation strictly (unknown keys are errors).
func ParseExpectation(data []byte) (*Expectation, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var e Expectation
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("worked example expectation: %w", err)
	}
	if e.Before.Status == "" || e.After.Status == "" {
		return nil, errors.New("worked example expectation: before.status and after.status are required")
	}
	return &e, nil
}

// Check compares the outcome with the expectation and says every difference.
func (o *Outcome) Check(want *Expectation) error {
	var errs []error
	errs = append(errs, checkAudit("before", o.Before, want.Before)...)
	errs = append(errs, checkAudit("after", o.After, want.After)...)
	r := want.Runtime
	if o.Unauthenticated != r.Unauthenticated || o.Authenticated != r.Authenticated || o.Health != r.Health {
		errs = append(errs, fmt.Errorf("runtime: %d/%d/%d, want %d/%d/%d", o.Unauthenticated, o.Authenticated, o.Health,
			r.Unauthenticated, r.Authenticated, r.Health))
	}
	if !sameSet(o.Delta.Improved, want.Delta.Improved) || !sameSet(o.Delta.Regressed, want.Delta.Regressed) {
		errs = append(errs, fmt.Errorf("delta: improved %v, regressed %v; want improved %v, regressed %v",
			o.Delta.Improved, o.Delta.Regressed, want.Delta.Improved, want.Delta.Regressed))
	}
	return errors.Join(errs...)
}

func checkAudit(label string, res *result.Result, want AuditExpectation) []error {
	var errs []error
	s := res.Summary
	if s.Status != want.Status || s.Posture != want.Posture || s.RiskScore != want.RiskScore || len(res.Backlog) != want.Backlog {
		errs = append(errs, fmt.Errorf("%s: %s %s, risk %d, %d backlog items; want %s %s, risk %d, %d backlog items",
			label, s.Status, s.Posture, s.RiskScore, len(res.Backlog), want.Status, want.Posture, want.RiskScore, want.Backlog))
	}
	got := map[string]string{}
	for _, f := range res.Findings {
		got[f.ID] = f.Severity
	}
	if !maps.Equal(got, want.Findings) {
		errs = append(errs, fmt.Errorf("%s: findings %s (%s), want %s", label, findingList(got), scoring.CountsText(s.SeverityCounts), findingList(want.Findings)))
	}
	var red []string
	for _, d := range s.Domains {
		if d.Posture == result.PostureRed {
			red = append(red, d.Name)
		}
	}
	if !sameSet(red, want.RedDomains) {
		errs = append(errs, fmt.Errorf("%s: red domains %v, want %v", label, red, want.RedDomains))
	}
	return errs
}

func findingList(m map[string]string) string {
	var parts []string
	for _, id := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, id+" ("+m[id]+")")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

// Summary is the one-line outcome the demo prints once it is checked:
// "before FAIL red (4 findings: 3 high, 1 medium) → after PASS green, risk 0;
// 4 improved, 0 regressions".
func (o *Outcome) Summary() string {
	b, a := o.Before.Summary, o.After.Summary
	return fmt.Sprintf("before %s %s (%d findings: %s) → after %s %s, risk %d; %d improved, %d regressions",
		b.Status, b.Posture, b.Findings, scoring.CountsText(b.SeverityCounts), a.Status, a.Posture, a.RiskScore,
		len(o.Delta.Improved), len(o.Delta.Regressed))
}
