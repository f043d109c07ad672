// Package ingestdconf reads an ingestd config file for an audit: the
// effective value of every setting (defaults applied, through the one schema
// in internal/gateway/config), the line it stands on, and the file's sha256.
// It observes and never judges.
package ingestdconf

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/localfile"
	"github.com/hardgate/hardgate/internal/result"
)

// Kind is the gateway config kind this package reads.
const Kind = "ingestd"

// File is a parsed ingestd config.
type File struct {
	// Path is the file as given.
	Path string
	// SHA256 is the hex digest of the bytes read.
	SHA256 string
	// Config is the effective configuration (defaults applied).
	Config config.Config
	// Positions maps dotted keys to lines.
	Positions config.Positions
	// Invalid holds Validate's complaint, if any; the settings are still read.
	Invalid error

	settings map[string]string
}

// Read opens and parses path: a regular file only (a FIFO, a device or a
// directory is refused without blocking), read no longer than ctx allows.
func Read(ctx context.Context, path string) (*File, error) {
	data, err := localfile.Read(ctx, path, config.MaxConfigBytes)
	if err != nil {
		return nil, fmt.Errorf("read gateway config: %w", err)
	}
	f, err := Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.Path = path
	return f, nil
}

// Parse reads a config from r. Unknown keys, bad types and oversize input
// are errors; a config that parses but does not validate is returned with
// Invalid set, because an auditor must still see what it says.
func Parse(r io.Reader) (*File, error) {
	data, err := io.ReadAll(io.LimitReader(r, config.MaxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read gateway config: %w", err)
	}
	sum := sha256.Sum256(data)
	cfg, pos, err := config.ParseWithPositions(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	f := &File{SHA256: hex.EncodeToString(sum[:]), Config: cfg, Positions: pos}
	f.Invalid = cfg.Validate()
	f.settings, err = flatten(cfg)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Setting returns the effective value of a dotted key and its line (0 when
// the file leaves it at its default). ok is false for a key the schema lacks.
func (f *File) Setting(key string) (value string, line int, ok bool) {
	value, ok = f.settings[key]
	return value, f.Positions.Line(key), ok
}

// Keys lists every setting key, sorted.
func (f *File) Keys() []string {
	keys := make([]string, 0, len(f.settings))
	for k := range f.settings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Evidence returns the config evidence for key.
func (f *File) Evidence(key string) result.Evidence {
	value, line, _ := f.Setting(key)
	where := fmt.Sprintf("%s:%d", f.Path, line)
	shown := value
	if line == 0 {
		where = f.Path + " (not set; default applies)"
	}
	if shown == "" {
		shown = `""`
	}
	return result.Evidence{
		Kind:    "config",
		Summary: fmt.Sprintf("%s: %s = %s", where, key, shown),
		Config:  &result.ConfigLine{File: f.Path, Line: line, Key: key, Value: value},
	}
}

// flatten renders the effective config as dotted keys with string values,
// through the same YAML tags the file uses.
func flatten(cfg config.Config) (map[string]string, error) {
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	var tree map[string]any
	if err := yaml.Unmarshal(data, &tree); err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, child := range x {
				key := k
				if prefix != "" {
					key = prefix + "." + k
				}
				walk(key, child)
			}
		case []any:
			parts := make([]string, len(x))
			for i, e := range x {
				parts[i] = fmt.Sprint(e)
			}
			out[prefix] = strings.Join(parts, ",")
		case nil:
			out[prefix] = ""
		case bool:
			out[prefix] = strconv.FormatBool(x)
		default:
			out[prefix] = fmt.Sprint(x)
		}
	}
	walk("", tree)
	return out, nil
}
