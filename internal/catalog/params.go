package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ParamKind is the type of a control parameter.
type ParamKind int

// Parameter kinds.
const (
	ParamInt ParamKind = iota + 1
	ParamString
	ParamList
)

func (k ParamKind) String() string {
	switch k {
	case ParamInt:
		return "an integer"
	case ParamString:
		return "a string"
	case ParamList:
		return "a list of strings"
	}
	return "unknown"
}

// Param is one threshold or list a control's evaluation reads from the
// catalog (a key size, a window in days, algorithm names): an integer, a
// string or a list of strings.
type Param struct {
	kind ParamKind
	i    int
	s    string
	list []string
}

// Kind is the parameter's type.
func (p Param) Kind() ParamKind { return p.kind }

// Text is the value as the prose cites it: a list joined with ", ".
func (p Param) Text() string {
	switch p.kind {
	case ParamInt:
		return strconv.Itoa(p.i)
	case ParamList:
		return strings.Join(p.list, ", ")
	}
	return p.s
}

// UnmarshalYAML reads an integer, a string or a non-empty list of strings.
func (p *Param) UnmarshalYAML(n *yaml.Node) error {
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!int":
		p.kind = ParamInt
		return n.Decode(&p.i)
	case n.Kind == yaml.ScalarNode && n.Tag == "!!str" && n.Value != "":
		p.kind, p.s = ParamString, n.Value
		return nil
	case n.Kind == yaml.SequenceNode && len(n.Content) > 0:
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode || c.Tag != "!!str" || c.Value == "" {
				return fmt.Errorf("line %d: a list parameter holds non-empty strings only", c.Line)
			}
			p.list = append(p.list, c.Value)
		}
		p.kind = ParamList
		return nil
	}
	return fmt.Errorf("line %d: a parameter is an integer, a non-empty string or a non-empty list of strings", n.Line)
}

// MarshalJSON writes the value itself.
func (p Param) MarshalJSON() ([]byte, error) {
	switch p.kind {
	case ParamInt:
		return json.Marshal(p.i)
	case ParamList:
		return json.Marshal(p.list)
	}
	return json.Marshal(p.s)
}

// Int returns the integer parameter name (0 when absent or of another
// kind; CheckRegistry guarantees presence and kind for every parameter an
// evaluation declares).
func (c *Control) Int(name string) int { return c.Params[name].i }

// String returns the string parameter name.
func (c *Control) String(name string) string { return c.Params[name].s }

// List returns the list parameter name.
func (c *Control) List(name string) []string { return slices.Clone(c.Params[name].list) }

// placeholder is {{name}} in a text field, citing a parameter.
var placeholder = regexp.MustCompile(`\{\{\s*([a-z][a-z0-9_]*)\s*\}\}`)

// expandParams replaces every {{name}} in the control's text by the
// parameter's value, so a threshold is written once, in params, and the
// prose cannot drift from what the evaluation applies. A placeholder
// without a parameter is an error.
func (c *Control) expandParams() error {
	var errs []error
	expand := func(field string, s *string) {
		*s = placeholder.ReplaceAllStringFunc(*s, func(m string) string {
			name := placeholder.FindStringSubmatch(m)[1]
			p, ok := c.Params[name]
			if !ok {
				errs = append(errs, fmt.Errorf("%s cites {{%s}}, which is not in params", field, name))
				return m
			}
			return p.Text()
		})
	}
	for _, f := range c.textFields() {
		expand(f.name, f.text)
	}
	return errors.Join(errs...)
}

type textField struct {
	name string
	text *string
}

// textFields are the prose fields of a control, the ones that may cite parameters.
func (c *Control) textFields() []textField {
	fields := []textField{
		{"title", &c.Title}, {"finding_title", &c.FindingTitle}, {"action", &c.Action},
		{"description", &c.Description}, {"risk", &c.Risk},
		{"remediation.text", &c.Remediation.Text}, {"remediation.config_change", &c.Remediation.ConfigChange},
		{"verification.request", &c.Verification.Request}, {"verification.expected", &c.Verification.Expected},
	}
	if d := c.Decision; d != nil {
		fields = append(fields, textField{"decision.pass", &d.Pass}, textField{"decision.fail", &d.Fail},
			textField{"decision.undecided", &d.Undecided}, textField{"decision.not_applicable", &d.NotApplicable})
	}
	return fields
}
