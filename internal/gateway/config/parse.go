package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

// Positions maps a dotted key path ("auth.mode") to the 1-based line where
// the key stands in the file it was parsed from.
type Positions map[string]int

// Line returns the line of key, or 0 when the file did not set it.
func (p Positions) Line(key string) int { return p[key] }

// Parse decodes YAML from r on top of Default. Unknown keys, duplicate keys,
// wrong types and more than one document are errors that name the line.
func Parse(r io.Reader) (Config, error) {
	cfg, _, err := ParseWithPositions(r)
	return cfg, err
}

// ParseWithPositions is Parse that also returns the line of every key.
func ParseWithPositions(r io.Reader) (Config, Positions, error) {
	cfg := Default()
	data, err := io.ReadAll(io.LimitReader(r, MaxConfigBytes+1))
	if err != nil {
		return cfg, nil, fmt.Errorf("read config: %w", err)
	}
	if len(data) > MaxConfigBytes {
		return cfg, nil, fmt.Errorf("config is larger than %d bytes", MaxConfigBytes)
	}
	pos := Positions{}
	if len(bytes.TrimSpace(data)) == 0 {
		return cfg, pos, nil
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		return cfg, nil, fmt.Errorf("parse config: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return cfg, nil, errors.New("parse config: more than one YAML document")
	}
	if len(root.Content) == 0 {
		return cfg, pos, nil
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return cfg, nil, fmt.Errorf("parse config: line %d: the top level must be a mapping of keys", doc.Line)
	}
	collectPositions(doc, "", pos)
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(&cfg); err != nil {
		return Default(), nil, fmt.Errorf("parse config: %w", ExplainYAML(data, &cfg, err))
	}
	return cfg, pos, nil
}

func collectPositions(n *yaml.Node, prefix string, pos Positions) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if prefix != "" {
			key = prefix + "." + key
		}
		pos[key] = k.Line
		collectPositions(v, key, pos)
	}
}

// Load reads, parses and validates the config file at path.
func Load(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Default(), fmt.Errorf("open config: %w", err)
	}
	defer f.Close()
	cfg, err := Parse(f)
	if err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("%s: invalid config:\n%w", path, err)
	}
	return cfg, nil
}
