// Package catalog holds hardgate's controls as data: one embedded YAML file
// per control family, loaded strictly (unknown keys, unknown operators,
// missing framework references and duplicate ids are load errors).
//
// The catalog carries metadata and, for config guardrails, rules in a small
// closed vocabulary (key, op, value) compiled at load, and every threshold an
// evaluation applies (params, cited in the prose as {{name}}). The logic
// that turns observations into a status lives in package controls,
// registered once per id.
package catalog

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hardgate/hardgate/internal/result"
)

//go:embed controls/*.yaml
var embedded embed.FS

// Domains is the closed list of control domains, in display order.
var Domains = []string{
	"Identity & Cryptography",
	"Access Control",
	"Data Protection",
	"Network Exposure",
	"Availability & Monitoring",
}

// Control is one control of the catalog.
type Control struct {
	// ID is "family.name"; it names the failing condition and never changes.
	ID string `yaml:"id" json:"id"`
	// Title states the passing case ("Ingest requires authentication").
	Title string `yaml:"title" json:"title"`
	// FindingTitle states the failing case.
	FindingTitle string `yaml:"finding_title" json:"finding_title"`
	// Action is the imperative ticket title for the backlog.
	Action string `yaml:"action" json:"action"`
	// Severity is critical, high, medium, low or info.
	Severity string `yaml:"severity" json:"severity"`
	// Domains are the control domains the control protects.
	Domains []string `yaml:"domains" json:"domains"`
	// Owner hints who fixes a finding.
	Owner       string `yaml:"owner" json:"owner"`
	Description string `yaml:"description" json:"description"`
	Risk        string `yaml:"risk" json:"risk"`
	// Remediation is the fix as text plus a concrete config change.
	Remediation result.Remediation `yaml:"remediation" json:"remediation"`
	// Verification is how to prove the fix: the exact request and the expected answer.
	Verification result.Verification `yaml:"verification" json:"verification"`
	// References maps the control to ETSI EN 303 645, OWASP IoT 2018, IEC 62443-4-2 and NIST IR 8259A.
	References result.References `yaml:"references" json:"references"`
	// Decision says, for the controls reference, what decides each
	// status: what passes, what fails and what stays undecided (error),
	// redirects included. Optional; every part is prose.
	Decision *Decision `yaml:"decision,omitempty" json:"decision,omitempty"`
	// Config holds the guardrail rules of a config control; nil otherwise.
	Config *ConfigCheck `yaml:"config,omitempty" json:"config,omitempty"`
	// Params are the thresholds and lists the control's evaluation reads
	// (key sizes, a window in days, algorithm names), so that no figure is
	// written in Go; the prose cites them as {{name}}, expanded at load.
	// The evaluation registry declares which params each control needs.
	Params map[string]Param `yaml:"params,omitempty" json:"params,omitempty"`
}

// Decision is what decides a control's status, in words.
type Decision struct {
	// Pass is what the control passes on.
	Pass string `yaml:"pass" json:"pass"`
	// Fail is what the control fails on.
	Fail string `yaml:"fail" json:"fail"`
	// Undecided is what leaves it undecided (status error, never a pass).
	Undecided string `yaml:"undecided" json:"undecided"`
	// NotApplicable is when it does not apply; optional.
	NotApplicable string `yaml:"not_applicable,omitempty" json:"not_applicable,omitempty"`
}

// Family is the part of the id before the dot.
func (c *Control) Family() string {
	family, _, _ := strings.Cut(c.ID, ".")
	return family
}

// Catalog is the loaded, validated set of controls, sorted by id.
type Catalog struct {
	Controls []Control
	byID     map[string]int
}

// Get returns the control with id.
func (c *Catalog) Get(id string) (*Control, bool) {
	i, ok := c.byID[id]
	if !ok {
		return nil, false
	}
	return &c.Controls[i], true
}

// IDs returns every control id, sorted.
func (c *Catalog) IDs() []string {
	ids := make([]string, len(c.Controls))
	for i := range c.Controls {
		ids[i] = c.Controls[i].ID
	}
	return ids
}

// Load reads the embedded catalog.
func Load() (*Catalog, error) { return LoadFS(embedded, "controls") }

// LoadFS reads every *.yaml file under dir of fsys.
func LoadFS(fsys fs.FS, dir string) (*Catalog, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("list catalog: %w", err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("catalog: no *.yaml files under %s", dir)
	}
	slices.Sort(names)
	cat := &Catalog{byID: map[string]int{}}
	var errs []error
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read catalog: %w", err)
		}
		controls, err := Parse(bytes.NewReader(data))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		for _, c := range controls {
			if _, dup := cat.byID[c.ID]; dup {
				errs = append(errs, fmt.Errorf("%s: control %s: duplicate id", name, c.ID))
				continue
			}
			if IsCustom(c.ID) {
				errs = append(errs, fmt.Errorf("%s: control %s: the %s prefix is reserved for the user's own controls", name, c.ID, CustomPrefix))
				continue
			}
			if want := strings.TrimSuffix(path.Base(name), ".yaml"); c.Family() != want {
				errs = append(errs, fmt.Errorf("%s: control %s: family %q belongs in %s.yaml", name, c.ID, c.Family(), c.Family()))
				continue
			}
			if err := checkReferences(&c); err != nil {
				errs = append(errs, fmt.Errorf("%s: control %s: %w", name, c.ID, err))
				continue
			}
			cat.byID[c.ID] = 0
			cat.Controls = append(cat.Controls, c)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(cat.Controls, func(a, b Control) int { return strings.Compare(a.ID, b.ID) })
	for i := range cat.Controls {
		cat.byID[cat.Controls[i].ID] = i
	}
	return cat, nil
}

var (
	idPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$`)
	paramName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// Parse decodes one catalog file strictly and validates each control.
func Parse(r io.Reader) ([]Control, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var file struct {
		Controls []Control `yaml:"controls"`
	}
	if err := dec.Decode(&file); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty catalog file")
		}
		return nil, fmt.Errorf("parse catalog: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("parse catalog: more than one YAML document")
	}
	if len(file.Controls) == 0 {
		return nil, errors.New("catalog file has no controls")
	}
	var errs []error
	for i := range file.Controls {
		if err := file.Controls[i].validate(); err != nil {
			errs = append(errs, fmt.Errorf("control %d (%s): %w", i, file.Controls[i].ID, err))
		}
	}
	return file.Controls, errors.Join(errs...)
}

func (c *Control) validate() error {
	var errs []error
	need := func(field, v string) {
		if strings.TrimSpace(v) == "" {
			errs = append(errs, fmt.Errorf("%s is required", field))
		}
	}
	if !idPattern.MatchString(c.ID) {
		errs = append(errs, fmt.Errorf("id %q must be family.name in lower snake case", c.ID))
	}
	need("title", c.Title)
	need("finding_title", c.FindingTitle)
	need("action", c.Action)
	need("owner", c.Owner)
	need("description", c.Description)
	need("risk", c.Risk)
	need("remediation.text", c.Remediation.Text)
	need("remediation.config_change", c.Remediation.ConfigChange)
	need("verification.request", c.Verification.Request)
	need("verification.expected", c.Verification.Expected)
	if !slices.Contains(result.Severities, c.Severity) {
		errs = append(errs, fmt.Errorf("severity %q must be one of %s", c.Severity, strings.Join(result.Severities, ", ")))
	}
	if len(c.Domains) == 0 {
		errs = append(errs, errors.New("domains: at least one is required"))
	}
	for _, d := range c.Domains {
		if !slices.Contains(Domains, d) {
			errs = append(errs, fmt.Errorf("domain %q is not one of %q", d, Domains))
		}
	}
	refs := map[string][]string{
		"references.etsi_en_303_645": c.References.ETSIEN303645,
		"references.owasp_iot_2018":  c.References.OWASPIoT2018,
		"references.iec_62443_4_2":   c.References.IEC62443_4_2,
		"references.nist_ir_8259a":   c.References.NISTIR8259A,
	}
	for _, k := range slices.Sorted(maps.Keys(refs)) {
		if len(refs[k]) == 0 {
			errs = append(errs, fmt.Errorf("%s: at least one reference is required", k))
		}
	}
	if d := c.Decision; d != nil {
		need("decision.pass", d.Pass)
		need("decision.fail", d.Fail)
		need("decision.undecided", d.Undecided)
	}
	if c.Config != nil {
		if err := c.Config.compile(); err != nil {
			errs = append(errs, fmt.Errorf("config: %w", err))
		}
	}
	for name := range c.Params {
		if !paramName.MatchString(name) {
			errs = append(errs, fmt.Errorf("params: %q must be lower snake case", name))
		}
	}
	if err := c.expandParams(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Doc returns the reference text of control id for report renderers
// (report.RenderOptions.Docs).
func (c *Catalog) Doc(id string) (result.ControlDoc, bool) {
	ctl, ok := c.Get(id)
	if !ok {
		return result.ControlDoc{}, false
	}
	return result.ControlDoc{Risk: ctl.Risk, Remediation: ctl.Remediation, Verification: ctl.Verification, References: ctl.References}, true
}
