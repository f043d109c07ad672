package spec

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

var (
	// fleetName is a gateway name that is also a safe file name
	// (results/<name>.json): letters, digits, '.', '_' and '-', not
	// starting with a dot.
	fleetName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	// labelKey is a label key: letters, digits, '.', '_', '-' and '/'.
	labelKey = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$`)
)

// maxLabelValue caps a label value.
const maxLabelValue = 256

// Validate checks every target of the fleet (Target.Validate), that every
// name is a safe file name and unique (case folded, so results/<name>.json
// cannot collide), and the labels. It returns every problem, joined, each
// an *EntryError naming the entry; it changes nothing.
func (f *Fleet) Validate() error {
	if len(f.Targets) == 0 {
		return errors.New("targets: the fleet has no targets")
	}
	var errs []error
	first := map[string]int{}
	for i := range f.Targets {
		ft := &f.Targets[i]
		var problems []error
		name := ft.Target.Name
		switch {
		case name == "":
			problems = append(problems, &FieldError{Field: "name", Value: "", Msg: "required: name the gateway (no ingest URL, MQTT URL or config file to name it after)"})
		case !fleetName.MatchString(name):
			problems = append(problems, &FieldError{Field: "name", Value: name, Msg: "must be 1 to 128 letters, digits, '.', '_' or '-', not starting with '.' (it names results/<name>.json)"})
		}
		if j, dup := first[strings.ToLower(name)]; dup && name != "" {
			problems = append(problems, &FieldError{Field: "name", Value: name, Msg: fmt.Sprintf("already used by targets[%d]; names are unique in a fleet", f.Targets[j].Entry)})
		} else {
			first[strings.ToLower(name)] = i
		}
		problems = append(problems, validateLabels(ft.Labels)...)
		if err := ft.Target.Validate(); err != nil {
			problems = append(problems, err)
		}
		if err := errors.Join(problems...); err != nil {
			errs = append(errs, &EntryError{Entry: fmt.Sprintf("targets[%d]", ft.Entry), Name: name, Line: ft.Line, Err: err})
		}
	}
	return errors.Join(errs...)
}

func validateLabels(labels map[string]string) []error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		v := labels[k]
		if !labelKey.MatchString(k) {
			errs = append(errs, &FieldError{Field: "labels", Value: k, Msg: "a label key is 1 to 63 letters, digits, '.', '_', '-' or '/', starting and ending with a letter or digit"})
		}
		if len(v) > maxLabelValue || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			errs = append(errs, &FieldError{Field: "labels." + k, Value: v, Msg: fmt.Sprintf("a label value is at most %d bytes without control characters", maxLabelValue)})
		}
	}
	return errs
}

// LabelSelector keeps the targets whose label Key has the value Value.
type LabelSelector struct {
	Key, Value string
}

// ParseLabelSelector reads "key=value".
func ParseLabelSelector(s string) (LabelSelector, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || !labelKey.MatchString(k) {
		return LabelSelector{}, fmt.Errorf("label selector %q: want key=value with a label key (letters, digits, '.', '_', '-', '/')", s)
	}
	return LabelSelector{Key: k, Value: v}, nil
}

func (s LabelSelector) String() string { return s.Key + "=" + s.Value }

// Matches reports whether labels has the selector's key with its value.
func (s LabelSelector) Matches(labels map[string]string) bool {
	v, ok := labels[s.Key]
	return ok && v == s.Value
}

// Select returns the targets that match every selector (all of them when
// there is none), in the fleet's order.
func (f *Fleet) Select(sels []LabelSelector) []FleetTarget {
	var out []FleetTarget
	for _, t := range f.Targets {
		keep := true
		for _, s := range sels {
			keep = keep && s.Matches(t.Labels)
		}
		if keep {
			out = append(out, t)
		}
	}
	return out
}
