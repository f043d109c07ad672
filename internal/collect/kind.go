package collect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/probe/mosquitto"
	"github.com/hardgate/hardgate/internal/spec"
)

// KindError is a gateway config that does not parse as the kind the target
// names, most often a mosquitto.conf audited as ingestd or the other way
// round. It is a usage error: judging a file by the wrong grammar would
// only make false findings or undecided controls.
type KindError struct {
	// Path is the config file; Kind is the kind the target names.
	Path, Kind string
	// Likely is the kind the file looks like, "" when none is recognised.
	Likely string
	// Err is what the reader of Kind met.
	Err error
}

func (e *KindError) Error() string {
	msg := fmt.Sprintf("gateway config %s does not parse as a%s %s config", e.Path, article(e.Kind), e.Kind)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Likely != "" {
		msg += fmt.Sprintf("\nit looks like a%s %s config: audit it with --gateway-kind %s (gateway.kind: %s in a target spec)",
			article(e.Likely), e.Likely, e.Likely, e.Likely)
	}
	return msg
}

func (e *KindError) Unwrap() error { return e.Err }

func article(kind string) string {
	if kind == spec.KindIngestd {
		return "n"
	}
	return ""
}

// ingestdParseError turns an ingestd config that does not parse into a
// KindError; a file that could not be read stays an observation.
func ingestdParseError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return nil
	}
	if inner := errors.Unwrap(err); inner != nil {
		err = inner // Read names the path, which KindError names too
	}
	ke := &KindError{Path: path, Kind: spec.KindIngestd, Err: err}
	if data, ok := readForSniff(path); ok {
		if c, perr := mosquitto.Parse(bytes.NewReader(data), path); perr == nil && looksLikeMosquitto(c.Directives) {
			ke.Likely = spec.KindMosquitto
		}
	}
	return ke
}

// mosquittoMismatch reports a mosquitto config whose main file is YAML
// (keys ending in ":"), which mosquitto itself would refuse.
func mosquittoMismatch(path string, c *mosquitto.Config) error {
	for _, d := range c.Directives {
		if d.File != path || !strings.HasSuffix(d.Name, ":") {
			continue
		}
		ke := &KindError{Path: path, Kind: spec.KindMosquitto,
			Err: fmt.Errorf("line %d: %q is a YAML key, not a mosquitto directive", d.Line, d.Name)}
		if data, ok := readForSniff(path); ok && looksLikeIngestd(data) {
			ke.Likely = spec.KindIngestd
		}
		return ke
	}
	return nil
}

// readForSniff reads a regular file, capped; ok is false for anything else.
func readForSniff(path string) ([]byte, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(f, config.MaxConfigBytes))
	return data, err == nil
}

// looksLikeIngestd reports whether data is a YAML mapping with at least
// one of the top-level keys of ingestd's config.
func looksLikeIngestd(data []byte) bool {
	var top map[string]yaml.Node
	if yaml.Unmarshal(data, &top) != nil {
		return false
	}
	keys := yamlKeys(reflect.TypeFor[config.Config]())
	for k := range top {
		if slices.Contains(keys, k) {
			return true
		}
	}
	return false
}

func yamlKeys(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// mosquittoDirectives are directives nearly every mosquitto.conf has one of.
var mosquittoDirectives = []string{
	"listener", "port", "allow_anonymous", "password_file", "acl_file", "per_listener_settings",
	"persistence", "persistence_location", "log_dest", "log_type", "include_dir", "bind_address",
	"certfile", "keyfile", "cafile", "require_certificate", "tls_version", "sys_interval", "plugin",
	"psk_file", "pid_file", "connection", "max_connections", "protocol", "user", "autosave_interval",
}

// looksLikeMosquitto reports whether most directives are mosquitto's and
// none is a YAML key.
func looksLikeMosquitto(dirs []mosquitto.Directive) bool {
	known := 0
	for _, d := range dirs {
		if strings.HasSuffix(d.Name, ":") {
			return false
		}
		if slices.Contains(mosquittoDirectives, d.Name) {
			known++
		}
	}
	return known > 0 && 2*known >= len(dirs)
}
