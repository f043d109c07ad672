package catalog

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/hardgate/hardgate/internal/result"
)

//go:embed frameworks/*.yaml
var embeddedFrameworks embed.FS

// Framework is a standard the catalog maps controls to, with every
// provision (or requirement, or item) it has, whether hardgate can test it
// or not: a compliance view lists the ones no control maps to as outside
// the audit.
type Framework struct {
	// ID names the framework on the command line (etsi-en-303-645).
	ID string `yaml:"id" json:"id"`
	// Name and Edition say which standard this is.
	Name    string `yaml:"name" json:"name"`
	Edition string `yaml:"edition" json:"edition"`
	// Field is the key of a control's references that cites it.
	Field string `yaml:"field" json:"field"`
	// Term is what the standard calls one of its provisions: provision,
	// requirement, item or capability.
	Term string `yaml:"term" json:"term"`
	// Provisions are in the standard's order.
	Provisions []Provision `yaml:"provisions" json:"provisions"`
}

// Provision is one provision, requirement or item of a framework.
type Provision struct {
	ID      string `yaml:"id" json:"id"`
	Section string `yaml:"section,omitempty" json:"section,omitempty"`
	Title   string `yaml:"title" json:"title"`
}

// referenceFields maps a framework's Field to the references it reads.
var referenceFields = map[string]func(r *result.References) []string{
	"etsi_en_303_645": func(r *result.References) []string { return r.ETSIEN303645 },
	"owasp_iot_2018":  func(r *result.References) []string { return r.OWASPIoT2018 },
	"iec_62443_4_2":   func(r *result.References) []string { return r.IEC62443_4_2 },
	"nist_ir_8259a":   func(r *result.References) []string { return r.NISTIR8259A },
	"en_18031_1":      func(r *result.References) []string { return r.EN18031_1 },
}

// Refs returns the references of r that cite this framework.
func (f *Framework) Refs(r result.References) []string { return referenceFields[f.Field](&r) }

// Lookup returns the provision a reference names: its id ("5.5-1",
// "SCM-3", "Data Protection") or its id and title ("CR 4.3 Use of
// cryptography", "I7 Insecure Data Transfer and Storage").
func (f *Framework) Lookup(ref string) (*Provision, bool) {
	for i := range f.Provisions {
		p := &f.Provisions[i]
		if ref == p.ID || ref == p.ID+" "+p.Title {
			return p, true
		}
	}
	return nil, false
}

// Title is the framework's name and edition.
func (f *Framework) Title() string { return f.Name + " " + f.Edition }

// loadFrameworks reads and checks the embedded frameworks once.
var loadFrameworks = sync.OnceValues(func() ([]Framework, error) { return parseFrameworks(embeddedFrameworks, "frameworks") })

// Frameworks returns every framework, sorted by id.
func Frameworks() ([]Framework, error) {
	fws, err := loadFrameworks()
	return slices.Clone(fws), err
}

// FrameworkIDs lists the framework ids, sorted.
func FrameworkIDs() []string {
	fws, _ := loadFrameworks()
	ids := make([]string, len(fws))
	for i := range fws {
		ids[i] = fws[i].ID
	}
	return ids
}

// FrameworkByID returns the framework id names.
func FrameworkByID(id string) (*Framework, error) {
	fws, err := loadFrameworks()
	if err != nil {
		return nil, err
	}
	for i := range fws {
		if fws[i].ID == id {
			f := fws[i]
			return &f, nil
		}
	}
	return nil, fmt.Errorf("unknown framework %q: choose one of %s", id, strings.Join(FrameworkIDs(), ", "))
}

func parseFrameworks(fsys fs.FS, dir string) ([]Framework, error) {
	names, err := fs.Glob(fsys, dir+"/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list frameworks: %w", err)
	}
	var out []Framework
	var errs []error
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read framework: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		var f Framework
		if err := dec.Decode(&f); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		if err := f.validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Framework) int { return strings.Compare(a.ID, b.ID) })
	return out, errors.Join(errs...)
}

func (f *Framework) validate() error {
	var errs []error
	if f.ID == "" || f.Name == "" || f.Edition == "" || f.Term == "" {
		errs = append(errs, errors.New("id, name, edition and term are required"))
	}
	if _, ok := referenceFields[f.Field]; !ok {
		errs = append(errs, fmt.Errorf("field %q is not a references key", f.Field))
	}
	if len(f.Provisions) == 0 {
		errs = append(errs, errors.New("provisions: at least one is required"))
	}
	seen := map[string]bool{}
	for i, p := range f.Provisions {
		if p.ID == "" || p.Title == "" || seen[p.ID] {
			errs = append(errs, fmt.Errorf("provisions[%d]: id %q must be set and unique, with a title", i, p.ID))
		}
		seen[p.ID] = true
	}
	return errors.Join(errs...)
}

// checkReferences reports every reference of c that names no provision of
// its framework, so a mapping cannot cite a provision that does not exist.
func checkReferences(c *Control) error {
	fws, err := loadFrameworks()
	if err != nil {
		return fmt.Errorf("frameworks: %w", err)
	}
	var errs []error
	for i := range fws {
		f := &fws[i]
		for _, ref := range f.Refs(c.References) {
			if _, ok := f.Lookup(ref); !ok {
				errs = append(errs, fmt.Errorf("references.%s: %q is not a provision of %s (see internal/catalog/frameworks/%s.yaml)", f.Field, ref, f.Title(), f.ID))
			}
		}
	}
	return errors.Join(errs...)
}
