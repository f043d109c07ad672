package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// CustomPrefix starts the id of every control of the user's own: custom
// controls live under it so they never collide with a built-in id, today's
// or a later release's.
const CustomPrefix = "custom."

// ConfigKinds are the gateway config kinds a config rule may read; the
// config rule engine (package controls) reads each through collect.Settings.
var ConfigKinds = []string{"ingestd", "mosquitto"}

// MaxCustomFileBytes caps one file of custom controls.
const MaxCustomFileBytes = 1 << 20

// IsCustom reports whether id names a control of the user's own.
func IsCustom(id string) bool { return strings.HasPrefix(id, CustomPrefix) }

// LoadWithCustom reads the embedded catalog and, when dir is not empty,
// adds the user's own controls from every *.yaml file of dir (see AddCustom).
func LoadWithCustom(dir string) (*Catalog, error) {
	cat, err := Load()
	if err != nil || dir == "" {
		return cat, err
	}
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("controls dir: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("controls dir %s: not a directory", dir)
	}
	if err := cat.AddCustom(os.DirFS(dir)); err != nil {
		return nil, fmt.Errorf("controls dir %s: %w", dir, err)
	}
	return cat, nil
}

// AddCustom adds the controls of every *.yaml file at the root of fsys.
// They are read by the same strict loader as the built-in catalog (every
// field, the framework references, the closed rule vocabulary) and must
// also be config guardrails: an id under CustomPrefix, a config block of
// one of ConfigKinds with its fail_when rules, and no params (no Go code
// reads them). Every problem of every file is reported, and on any problem
// the catalog is left unchanged.
func (c *Catalog) AddCustom(fsys fs.FS) error {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return fmt.Errorf("list custom controls: %w", err)
	}
	if len(names) == 0 {
		return errors.New("no *.yaml files of custom controls")
	}
	slices.Sort(names)
	var added []Control
	var errs []error
	seen := map[string]string{}
	for _, name := range names {
		controls, err := parseCustomFile(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		for _, ctl := range controls {
			if prev, dup := seen[ctl.ID]; dup {
				errs = append(errs, fmt.Errorf("%s: control %s: duplicate id (also in %s)", name, ctl.ID, prev))
				continue
			}
			seen[ctl.ID] = name
			added = append(added, ctl)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	c.Controls = append(c.Controls, added...)
	slices.SortFunc(c.Controls, func(a, b Control) int { return strings.Compare(a.ID, b.ID) })
	c.byID = map[string]int{}
	for i := range c.Controls {
		c.byID[c.Controls[i].ID] = i
	}
	return nil
}

// parseCustomFile reads one file of custom controls, capped, strictly.
func parseCustomFile(fsys fs.FS, name string) ([]Control, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read custom controls: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxCustomFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read custom controls: %w", err)
	}
	if len(data) > MaxCustomFileBytes {
		return nil, fmt.Errorf("larger than %d bytes", MaxCustomFileBytes)
	}
	controls, err := Parse(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	var errs []error
	for i := range controls {
		if err := errors.Join(controls[i].validateCustom(), checkReferences(&controls[i])); err != nil {
			errs = append(errs, fmt.Errorf("control %d (%s): %w", i, controls[i].ID, err))
		}
	}
	return controls, errors.Join(errs...)
}

// validateCustom checks what a custom control needs beyond any control.
func (c *Control) validateCustom() error {
	var errs []error
	if !IsCustom(c.ID) {
		errs = append(errs, fmt.Errorf("id %q must start with %q (custom.name): custom ids never collide with built-in ones", c.ID, CustomPrefix))
	}
	switch {
	case c.Config == nil:
		errs = append(errs, errors.New("config is required: a custom control is a config guardrail (config: {kind, fail_when})"))
	case !slices.Contains(ConfigKinds, c.Config.Kind):
		errs = append(errs, fmt.Errorf("config.kind %q must be one of %s", c.Config.Kind, strings.Join(ConfigKinds, ", ")))
	}
	if len(c.Params) > 0 {
		errs = append(errs, errors.New("params: a custom control has none (no evaluation reads them); write values into its rules"))
	}
	return errors.Join(errs...)
}

// Custom returns the user's own controls of the catalog, sorted by id.
func (c *Catalog) Custom() []Control {
	var out []Control
	for _, ctl := range c.Controls {
		if IsCustom(ctl.ID) {
			out = append(out, ctl)
		}
	}
	return out
}
