package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hardgate/hardgate/internal/spelling"
)

// YAMLError is a strict decoding problem as a user reads it: the line, the
// dotted key path and what is wrong, in the file's terms (never Go type
// names such as config.Auth).
type YAMLError struct {
	// Line is the 1-based line of the key or value at fault.
	Line int
	// Path is the dotted key path, e.g. "auth.mode" or "ingest.urls[1]".
	Path string
	// Msg says what is wrong and what is expected.
	Msg string
}

func (e *YAMLError) Error() string { return fmt.Sprintf("line %d: %s: %s", e.Line, e.Path, e.Msg) }

// ExplainYAML turns the error of a strict decode of data into target (a
// pointer to a struct) into a *YAMLError naming the key path and line,
// found by walking the YAML against target's fields. When the walk finds
// nothing to blame it returns err unchanged.
func ExplainYAML(data []byte, target any, err error) error {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 {
		return err
	}
	w := &yamlWalker{budget: maxWalkNodes}
	if e := w.walk(root.Content[0], reflect.TypeOf(target), ""); e != nil {
		return e
	}
	return err
}

// maxWalkNodes bounds the walk: aliases can make a small file a large tree.
const maxWalkNodes = 100_000

// yamlWalker walks a YAML tree against a Go type, at most budget nodes.
type yamlWalker struct{ budget int }

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// walk returns the first problem of n decoded into t, at path.
func (w *yamlWalker) walk(n *yaml.Node, t reflect.Type, path string) *YAMLError {
	if w.budget--; w.budget < 0 {
		return nil
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Tag == "!!null" {
		return nil
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return leaf(n, t, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		return w.walkStruct(n, t, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return &YAMLError{n.Line, shown(path), "want a list, got " + describe(n)}
		}
		for i, c := range n.Content {
			if e := w.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); e != nil {
				return e
			}
		}
		return nil
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return &YAMLError{n.Line, shown(path), "want a mapping of keys, got " + describe(n)}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if e := w.walk(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value)); e != nil {
				return e
			}
		}
		return nil
	case reflect.Interface:
		return nil
	}
	return leaf(n, t, path)
}

func (w *yamlWalker) walkStruct(n *yaml.Node, t reflect.Type, path string) *YAMLError {
	fields := map[string]reflect.Type{}
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		fields[name] = f.Type
		names = append(names, name)
	}
	if n.Kind != yaml.MappingNode {
		return &YAMLError{n.Line, shown(path), fmt.Sprintf("want a mapping of keys (%s), got %s", strings.Join(names, ", "), describe(n))}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		key := join(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			return &YAMLError{k.Line, key, fmt.Sprintf("set twice (first at line %d)", first)}
		}
		seen[k.Value] = k.Line
		ft, ok := fields[k.Value]
		if !ok {
			msg := "unknown key"
			if s := spelling.Phrase(spelling.Suggest(k.Value, names), func(s string) string { return s }); s != "" {
				msg += "; " + s
			}
			where := "at the top level"
			if path != "" {
				where = "under " + path
			}
			slices.Sort(names)
			return &YAMLError{k.Line, key, fmt.Sprintf("%s (the keys %s: %s)", msg, where, strings.Join(names, ", "))}
		}
		if e := w.walk(n.Content[i+1], ft, key); e != nil {
			return e
		}
	}
	return nil
}

// leaf decodes a scalar (or a type with its own decoding) to see whether
// the decoder accepts it.
func leaf(n *yaml.Node, t reflect.Type, path string) *YAMLError {
	err := n.Decode(reflect.New(t).Interface())
	if err == nil {
		return nil
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) && t != reflect.TypeFor[Duration]() {
		// A type's own decoding error (not the generic one) says what it wants.
		return &YAMLError{n.Line, shown(path), err.Error()}
	}
	return &YAMLError{n.Line, shown(path), "want " + wanted(t) + ", got " + describe(n)}
}

func wanted(t reflect.Type) string {
	if t == reflect.TypeFor[Duration]() {
		return "a duration such as 5s, 250ms or 1m30s"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another kind of value"
}

// describe names a YAML value in the file's terms.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping of keys"
	case yaml.SequenceNode:
		return "a list"
	}
	v := n.Value
	if r := []rune(v); len(r) > 40 {
		v = string(r[:40]) + "..."
	}
	switch n.Tag {
	case "!!int", "!!float":
		return "the number " + v
	case "!!bool":
		return v
	}
	return fmt.Sprintf("%q", v)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func shown(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}
