package controls

import (
	"errors"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/collect"
	"github.com/hardgate/hardgate/internal/probe/mosquitto"
	"github.com/hardgate/hardgate/internal/result"
)

// ruleControl is a catalog control whose config rule reads kind.
func ruleControl(t *testing.T, kind, rule string) *catalog.Control {
	t.Helper()
	cs, err := catalog.Parse(strings.NewReader(`controls:
  - id: fam.rule
    title: T
    finding_title: F
    action: A
    severity: low
    domains: [Access Control]
    owner: o
    description: d
    risk: r
    remediation: {text: t, config_change: c}
    verification: {request: q, expected: e}
    references: {etsi_en_303_645: [a], owasp_iot_2018: [b], iec_62443_4_2: [c], nist_ir_8259a: [d]}
    config: {kind: ` + kind + `, fail_when: [` + rule + `]}
`))
	if err != nil {
		t.Fatal(err)
	}
	return &cs[0]
}

// TestTheRuleEngineReadsMosquittoConfigsToo: config rules read any config
// kind through collect.Settings; a mosquitto rule judges (it used to
// dereference the missing ingestd reader).
func TestTheRuleEngineReadsMosquittoConfigsToo(t *testing.T) {
	t.Parallel()
	conf, err := mosquitto.Parse(strings.NewReader("listener 1883\nallow_anonymous true\n"), "/etc/mosquitto/mosquitto.conf")
	if err != nil {
		t.Fatal(err)
	}
	obs := &collect.Observations{Config: &collect.ConfigObservation{Path: "/etc/mosquitto/mosquitto.conf", Kind: "mosquitto", Mosquitto: conf}}
	tests := []struct {
		name string
		rule string
		want result.Status
		line int
	}{
		{"a rule that matches a directive fails, citing its line", "{key: allow_anonymous, op: equals, value: \"true\"}", result.StatusFail, 2},
		{"a rule that does not match passes", "{key: allow_anonymous, op: equals, value: \"false\"}", result.StatusPass, 2},
		{"an unset directive reads as empty", "{key: password_file, op: empty}", result.StatusFail, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := evalConfigRules(obs, ruleControl(t, "mosquitto", tt.rule))
			if v.Status != tt.want {
				t.Fatalf("status %s (%s), want %s", v.Status, v.Reason, tt.want)
			}
			if len(v.Evidence) != 1 || v.Evidence[0].Config == nil || v.Evidence[0].Config.Line != tt.line {
				t.Errorf("evidence %+v, want the line %d", v.Evidence, tt.line)
			}
		})
	}
	t.Run("a mosquitto rule on a config that was not read is an error, never a panic", func(t *testing.T) {
		for _, co := range []*collect.ConfigObservation{
			{Path: "/etc/mosquitto/mosquitto.conf", Kind: "mosquitto", Err: errors.New("permission denied")},
			{Path: "/etc/mosquitto/mosquitto.conf", Kind: "mosquitto"},
		} {
			v := evalConfigRules(&collect.Observations{Config: co}, ruleControl(t, "mosquitto", "{key: allow_anonymous, op: equals, value: \"true\"}"))
			if v.Status != result.StatusError {
				t.Errorf("status %s (%s), want error", v.Status, v.Reason)
			}
		}
	})
	t.Run("an ingestd rule is not applicable to a mosquitto config", func(t *testing.T) {
		v := evalConfigRules(obs, ruleControl(t, "ingestd", "{key: auth.mode, op: equals, value: none}"))
		if v.Status != result.StatusNotApplicable {
			t.Fatalf("status %s (%s)", v.Status, v.Reason)
		}
	})
}
