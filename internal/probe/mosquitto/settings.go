package mosquitto

import (
	"fmt"

	"github.com/hardgate/hardgate/internal/result"
)

// Setting returns the effective global value of the directive name (outside
// listener blocks, or every security directive when per_listener_settings is
// false) and its line; an unset directive is "" at line 0. Mosquitto has no
// closed list of directive names a rule could be checked against, so ok is
// always true. With Evidence it is the reader the config rule engine uses,
// as it uses ingestdconf.File for ingestd.
func (c *Config) Setting(name string) (value string, line int, ok bool) {
	d, set := c.Global[name]
	if !set {
		return "", 0, true
	}
	return d.Value, d.Line, true
}

// Evidence returns the config evidence for the directive name.
func (c *Config) Evidence(name string) result.Evidence {
	main := ""
	if len(c.Files) > 0 {
		main = c.Files[0]
	}
	d, set := c.Global[name]
	if !set {
		return result.Evidence{
			Kind:    "config",
			Summary: fmt.Sprintf("%s (not set; default applies): %s", main, name),
			Config:  &result.ConfigLine{File: main, Key: name},
		}
	}
	return result.Evidence{
		Kind:    "config",
		Summary: fmt.Sprintf("%s:%d: %s %s", d.File, d.Line, name, d.Value),
		Config:  &result.ConfigLine{File: d.File, Line: d.Line, Key: name, Value: d.Value},
	}
}
