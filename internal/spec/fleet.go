package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFleetBytes caps a fleet file.
const MaxFleetBytes = 16 << 20

// MaxFleetTargets caps the entries of a fleet file.
const MaxFleetTargets = 100_000

// Fleet is a fleet file expanded: one complete target spec per entry, in
// the file's order, each with its labels. Defaults, the entry's spec file
// and the entry's own fields are merged in that order (later wins).
type Fleet struct {
	// Targets are the expanded entries, in the order of the file.
	Targets []FleetTarget
}

// FleetTarget is one gateway of a fleet.
type FleetTarget struct {
	// Target is the complete target spec (Target.Name is the gateway's
	// name, unique in the fleet).
	Target Target
	// Labels are the entry's labels over the defaults' labels.
	Labels map[string]string
	// Entry is the index of the entry under targets:.
	Entry int
	// Line is the entry's line in the fleet file.
	Line int
	// SpecFile is the target spec file the entry names (spec:), resolved
	// against the fleet file's folder; empty for an inline entry.
	SpecFile string
}

// Name is the gateway's name.
func (t *FleetTarget) Name() string { return t.Target.Name }

// EntryError is a problem with one entry of a fleet file (or with its
// defaults): it names the entry, its name when known and its line, and
// wraps the problem, often a *FieldError naming the field.
type EntryError struct {
	// Entry is "defaults" or "targets[3]".
	Entry string
	// Name is the entry's target name, when known.
	Name string
	// Line is the entry's line in the fleet file, when known.
	Line int
	// Err is the problem.
	Err error
}

func (e *EntryError) Error() string {
	var b strings.Builder
	b.WriteString(e.Entry)
	if e.Name != "" {
		fmt.Fprintf(&b, " (%s)", e.Name)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " at line %d", e.Line)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *EntryError) Unwrap() error { return e.Err }

// layer is one source of target fields: the defaults, a spec file, or an
// entry's own fields. Unset fields are zero and leave the lower layer's.
type layer struct {
	target Target
	labels map[string]string
	spec   string
}

// ParseFleet decodes a fleet file strictly and expands it: unknown keys,
// wrong types, duplicate keys, a second document and oversize input are
// errors naming the entry, the field and the line. A spec: entry's file is
// read relative to baseDir (the fleet file's folder; empty: the working
// directory), and the relative paths inside it relative to its own folder;
// the relative paths written in the fleet file are anchored at baseDir.
// Reading those spec files is its only I/O. It does not validate: call
// Fleet.Validate (LoadFleet does both).
func ParseFleet(r io.Reader, baseDir string) (*Fleet, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFleetBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read fleet file: %w", err)
	}
	if len(data) > MaxFleetBytes {
		return nil, fmt.Errorf("fleet file is larger than %d bytes", MaxFleetBytes)
	}
	doc, err := decodeOneDocument(data)
	if err != nil {
		return nil, fmt.Errorf("parse fleet file: %w", err)
	}
	defaults, entries, err := splitFleet(doc)
	if err != nil {
		return nil, fmt.Errorf("parse fleet file: %w", err)
	}
	var base layer
	if defaults != nil {
		if base, err = decodeLayer(defaults, defaultsKeys, "defaults"); err != nil {
			return nil, &EntryError{Entry: "defaults", Line: defaults.Line, Err: err}
		}
		base.target.ResolvePaths(baseDir)
	}
	f := &Fleet{Targets: make([]FleetTarget, 0, len(entries))}
	var errs []error
	for i, n := range entries {
		ft, err := expandEntry(base, n, i, baseDir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f.Targets = append(f.Targets, ft)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("parse fleet file:\n%w", err)
	}
	return f, nil
}

// LoadFleet reads the fleet file at path, expands it (ParseFleet, relative
// paths against the file's folder) and validates every target.
func LoadFleet(path string) (*Fleet, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open fleet file: %w", err)
	}
	defer file.Close()
	f, err := ParseFleet(file, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("%s: invalid fleet:\n%w", path, err)
	}
	return f, nil
}

func decodeOneDocument(data []byte) (*yaml.Node, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("fleet file is empty")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document")
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return nil, errors.New("fleet file is empty")
	}
	return root.Content[0], nil
}

// splitFleet checks the top level: a mapping with defaults (a mapping,
// optional) and targets (a non-empty sequence of mappings).
func splitFleet(doc *yaml.Node) (defaults *yaml.Node, entries []*yaml.Node, err error) {
	doc = deref(doc)
	if doc.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("line %d: the top level must be a mapping with defaults and targets", doc.Line)
	}
	var targets *yaml.Node
	seen := map[string]int{}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], deref(doc.Content[i+1])
		if line, dup := seen[k.Value]; dup {
			return nil, nil, fmt.Errorf("line %d: %s is already set at line %d", k.Line, k.Value, line)
		}
		seen[k.Value] = k.Line
		switch k.Value {
		case "defaults":
			if v.Kind != yaml.MappingNode && !isNull(v) {
				return nil, nil, fmt.Errorf("line %d: defaults must be a mapping of target spec fields", v.Line)
			}
			if !isNull(v) {
				defaults = v
			}
		case "targets":
			if v.Kind != yaml.SequenceNode {
				return nil, nil, fmt.Errorf("line %d: targets must be a list of entries", v.Line)
			}
			targets = v
		default:
			return nil, nil, fmt.Errorf("line %d: unknown key %q (want defaults, targets)", k.Line, k.Value)
		}
	}
	if targets == nil || len(targets.Content) == 0 {
		return nil, nil, errors.New("targets: the fleet has no targets")
	}
	if len(targets.Content) > MaxFleetTargets {
		return nil, nil, fmt.Errorf("targets: %d entries, more than %d", len(targets.Content), MaxFleetTargets)
	}
	return defaults, targets.Content, nil
}

// expandEntry merges the defaults, the entry's spec file and the entry's
// own fields into one complete target.
func expandEntry(base layer, n *yaml.Node, i int, baseDir string) (FleetTarget, error) {
	n = deref(n)
	entry := fmt.Sprintf("targets[%d]", i)
	fail := func(name string, err error) (FleetTarget, error) {
		return FleetTarget{}, &EntryError{Entry: entry, Name: name, Line: n.Line, Err: err}
	}
	if n.Kind != yaml.MappingNode {
		return fail("", errors.New("an entry must be a mapping (name, labels, spec and target spec fields)"))
	}
	own, err := decodeLayer(n, entryKeys, "")
	if err != nil {
		return fail(scalarValue(n, "name"), err)
	}
	own.target.ResolvePaths(baseDir)
	t := Default()
	overlay(reflect.ValueOf(&t).Elem(), reflect.ValueOf(base.target))
	ft := FleetTarget{Entry: i, Line: n.Line}
	if own.spec != "" {
		ft.SpecFile = own.spec
		if !filepath.IsAbs(ft.SpecFile) && baseDir != "" {
			ft.SpecFile = filepath.Join(baseDir, ft.SpecFile)
		}
		fromFile, err := readSpecLayer(ft.SpecFile)
		if err != nil {
			return fail(own.target.Name, fmt.Errorf("spec: %w", err))
		}
		overlay(reflect.ValueOf(&t).Elem(), reflect.ValueOf(fromFile))
	}
	overlay(reflect.ValueOf(&t).Elem(), reflect.ValueOf(own.target))
	t.Complete()
	ft.Target = t
	ft.Labels = mergeLabels(base.labels, own.labels)
	return ft, nil
}

// readSpecLayer reads a target spec file as a layer: strictly decoded over
// a zero spec (its unset fields leave the defaults'), relative paths
// against its folder.
func readSpecLayer(path string) (Target, error) {
	data, err := readRegularFile(path, MaxBytes)
	if err != nil {
		return Target{}, err
	}
	if len(data) > MaxBytes {
		return Target{}, fmt.Errorf("%s: target spec is larger than %d bytes", path, MaxBytes)
	}
	var t Target
	if len(bytes.TrimSpace(data)) == 0 {
		return t, fmt.Errorf("%s: target spec is empty", path)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		return t, fmt.Errorf("%s: %w", path, err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return t, fmt.Errorf("%s: more than one YAML document", path)
	}
	t.ResolvePaths(filepath.Dir(path))
	return t, nil
}

func mergeLabels(layers ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, l := range layers {
		for k, v := range l {
			out[k] = v
		}
	}
	return out
}

// overlay copies every non-zero field of src over dst, recursing into
// structs; slices are copied, so targets never share backing arrays.
func overlay(dst, src reflect.Value) {
	for i := range dst.NumField() {
		d, s := dst.Field(i), src.Field(i)
		switch {
		case d.Kind() == reflect.Struct:
			overlay(d, s)
		case s.IsZero():
		case d.Kind() == reflect.Slice:
			d.Set(reflect.AppendSlice(reflect.MakeSlice(s.Type(), 0, s.Len()), s))
		default:
			d.Set(s)
		}
	}
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// scalarValue returns the value of key in mapping n when it is a scalar.
func scalarValue(n *yaml.Node, key string) string {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && deref(n.Content[i+1]).Kind == yaml.ScalarNode {
			return deref(n.Content[i+1]).Value
		}
	}
	return ""
}

// readRegularFile reads at most limit+1 bytes of a regular file (not a
// device or a pipe, which could block or never end).
func readRegularFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	return io.ReadAll(io.LimitReader(f, limit+1))
}
