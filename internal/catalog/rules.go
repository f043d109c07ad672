package catalog

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hardgate/hardgate/internal/spec"
)

// ConfigCheck is a config guardrail: the control fails when every rule of
// FailWhen matches the gateway config of Kind.
type ConfigCheck struct {
	// Kind is the gateway config kind the rules read: one of
	// spec.GatewayKinds ("ingestd", "mosquitto"), checked at load.
	Kind string `yaml:"kind" json:"kind"`
	// FailWhen are the rules; all must match for the control to fail.
	FailWhen []Rule `yaml:"fail_when" json:"fail_when"`
}

// Rule is one (key, op, value) test on a config setting.
type Rule struct {
	// Key is the dotted config key, e.g. "auth.mode".
	Key string `yaml:"key" json:"key"`
	// Op is one of the operators in Operators.
	Op string `yaml:"op" json:"op"`
	// Value is the operand of equals and not_equals.
	Value string `yaml:"value,omitempty" json:"value,omitempty"`
	// Values is the operand of one_of.
	Values []string `yaml:"values,omitempty" json:"values,omitempty"`

	match func(value string) bool
	text  string
}

// Operators is the closed vocabulary of rule operators.
var Operators = []string{"equals", "not_equals", "one_of", "empty", "not_empty"}

// Matches reports whether the setting's value matches the rule. Unset keys
// are passed as their default value by the caller.
func (r *Rule) Matches(value string) bool { return r.match(value) }

// Describe is the human text of the condition, e.g. `auth.mode is "none"`.
func (r *Rule) Describe() string { return r.text }

func (c *ConfigCheck) compile() error {
	if c.Kind == "" {
		return errors.New("kind is required")
	}
	if !slices.Contains(spec.GatewayKinds, c.Kind) {
		// A rule of a kind no reader exists for could never be judged.
		return fmt.Errorf("kind %q is not a config kind hardgate reads (%s)", c.Kind, strings.Join(spec.GatewayKinds, ", "))
	}
	if len(c.FailWhen) == 0 {
		return errors.New("fail_when needs at least one rule")
	}
	var errs []error
	for i := range c.FailWhen {
		if err := c.FailWhen[i].compile(); err != nil {
			errs = append(errs, fmt.Errorf("fail_when[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

func (r *Rule) compile() error {
	if r.Key == "" {
		return errors.New("key is required")
	}
	needValue := func() error {
		if r.Value == "" || len(r.Values) > 0 {
			return fmt.Errorf("op %s takes value (and not values)", r.Op)
		}
		return nil
	}
	needNone := func() error {
		if r.Value != "" || len(r.Values) > 0 {
			return fmt.Errorf("op %s takes no operand", r.Op)
		}
		return nil
	}
	switch r.Op {
	case "equals":
		v := r.Value
		r.match, r.text = func(s string) bool { return s == v }, fmt.Sprintf("%s is %q", r.Key, v)
		return needValue()
	case "not_equals":
		v := r.Value
		r.match, r.text = func(s string) bool { return s != v }, fmt.Sprintf("%s is not %q", r.Key, v)
		return needValue()
	case "one_of":
		if r.Value != "" || len(r.Values) == 0 {
			return errors.New("op one_of takes values (and not value)")
		}
		vs := slices.Clone(r.Values)
		quoted := make([]string, len(vs))
		for i, v := range vs {
			quoted[i] = fmt.Sprintf("%q", v)
		}
		r.match = func(s string) bool { return slices.Contains(vs, s) }
		r.text = fmt.Sprintf("%s is one of %s", r.Key, strings.Join(quoted, ", "))
		return nil
	case "empty":
		r.match, r.text = func(s string) bool { return s == "" }, fmt.Sprintf("%s is empty", r.Key)
		return needNone()
	case "not_empty":
		r.match, r.text = func(s string) bool { return s != "" }, fmt.Sprintf("%s is set", r.Key)
		return needNone()
	default:
		return fmt.Errorf("unknown op %q (known: %s)", r.Op, strings.Join(Operators, ", "))
	}
}
