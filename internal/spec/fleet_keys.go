package spec

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The keys a fleet entry and the defaults accept beside the target spec's.
var (
	entryKeys    = []string{"labels", "spec"}
	defaultsKeys = []string{"labels"}
)

var (
	targetType      = reflect.TypeFor[Target]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
)

// decodeLayer checks the keys and shapes of a defaults or entry mapping
// against the target spec (every problem named by its dotted field and
// line), then decodes it over a zero spec.
func decodeLayer(n *yaml.Node, extra []string, where string) (layer, error) {
	var l layer
	rest := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
	var errs []error
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		if line, dup := seen[k.Value]; dup {
			errs = append(errs, fmt.Errorf("line %d: %s: already set at line %d", k.Line, k.Value, line))
			continue
		}
		seen[k.Value] = k.Line
		switch {
		case k.Value == "labels" && slices.Contains(extra, "labels"):
			labels, err := decodeLabels(v)
			if err != nil {
				errs = append(errs, err)
			}
			l.labels = labels
		case k.Value == "spec" && slices.Contains(extra, "spec"):
			if v.Kind != yaml.ScalarNode || v.Value == "" || isNull(v) {
				errs = append(errs, fmt.Errorf("line %d: spec: must be the path of a target spec file", v.Line))
			}
			l.spec = v.Value
		case k.Value == "name" && where == "defaults":
			errs = append(errs, fmt.Errorf("line %d: name: a name belongs to one target, not to the defaults", k.Line))
		default:
			field, ok := fieldByKey(targetType, k.Value)
			if !ok {
				errs = append(errs, unknownKey(k, "", targetType, extra))
				continue
			}
			errs = append(errs, checkNode(v, field.Type, k.Value)...)
			rest.Content = append(rest.Content, k, v)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return l, err
	}
	if err := rest.Decode(&l.target); err != nil {
		return l, err
	}
	return l, nil
}

// checkNode checks that n has the shape of t (a mapping for a struct, a
// list for a slice, a scalar otherwise) and that a mapping names only
// known fields, recursively.
func checkNode(n *yaml.Node, t reflect.Type, path string) []error {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || (t.Kind() != reflect.Struct && t.Kind() != reflect.Slice) {
		if n.Kind != yaml.ScalarNode {
			return []error{fmt.Errorf("line %d: %s: must be a single value", n.Line, path)}
		}
		return nil
	}
	if t.Kind() == reflect.Slice {
		if n.Kind != yaml.SequenceNode {
			return []error{fmt.Errorf("line %d: %s: must be a list", n.Line, path)}
		}
		var errs []error
		for i, e := range n.Content {
			errs = append(errs, checkNode(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return errs
	}
	if n.Kind != yaml.MappingNode {
		return []error{fmt.Errorf("line %d: %s: must be a mapping", n.Line, path)}
	}
	var errs []error
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if line, dup := seen[k.Value]; dup {
			errs = append(errs, fmt.Errorf("line %d: %s.%s: already set at line %d", k.Line, path, k.Value, line))
			continue
		}
		seen[k.Value] = k.Line
		field, ok := fieldByKey(t, k.Value)
		if !ok {
			errs = append(errs, unknownKey(k, path, t, nil))
			continue
		}
		errs = append(errs, checkNode(v, field.Type, path+"."+k.Value)...)
	}
	return errs
}

// unknownKey names an unknown key with the keys that are known there, and
// says how secrets are given when the key looks like one.
func unknownKey(k *yaml.Node, path string, t reflect.Type, extra []string) error {
	full := k.Value
	if path != "" {
		full = path + "." + k.Value
	}
	known := append(yamlKeys(t), extra...)
	msg := fmt.Sprintf("line %d: %s: unknown field (known here: %s)", k.Line, full, strings.Join(known, ", "))
	lower := strings.ToLower(k.Value)
	for _, s := range []string{"token", "password", "secret", "key", "credential"} {
		if strings.Contains(lower, s) {
			msg += "; secrets are never written in a fleet file: name an environment variable (ingest.token_env, mqtt.password_env)"
			break
		}
	}
	return errors.New(msg)
}

func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if yamlName(f) == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if n := yamlName(t.Field(i)); n != "" && n != "-" {
			keys = append(keys, n)
		}
	}
	return keys
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

// decodeLabels reads a labels mapping: string keys to scalar values.
func decodeLabels(n *yaml.Node) (map[string]string, error) {
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: labels: must be a mapping of key: value", n.Line)
	}
	labels := map[string]string{}
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		if _, dup := labels[k.Value]; dup {
			errs = append(errs, fmt.Errorf("line %d: labels.%s: already set", k.Line, k.Value))
			continue
		}
		if v.Kind != yaml.ScalarNode {
			errs = append(errs, fmt.Errorf("line %d: labels.%s: must be a single value", v.Line, k.Value))
			continue
		}
		labels[k.Value] = v.Value
	}
	return labels, errors.Join(errs...)
}
