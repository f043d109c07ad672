// Package waiver accepts known risks: a waivers file names failed controls
// that a target may keep until a date, with a justification and an owner.
// It follows the house config pipeline, Default, then Parse (strict decode
// from an io.Reader: size cap, one document, unknown keys rejected), then
// Validate (every problem a *FieldError naming the field and the value;
// unknown controls and expiry dates too far ahead included).
//
// Waivers are data applied after the controls judged: Apply turns a failed
// control that a waiver selects into status waived, with the waiver beside
// its evidence, and summarizes the result again, so that a waived finding
// counts toward no status, posture, risk score or backlog while staying in
// the result. A waiver whose last day has passed is ignored and reported
// as expired; one that matches no failed control is reported as stale. The
// clock is the caller's: Apply takes now, so expiry is deterministic in
// tests and the same in audit, fleet and serve.
package waiver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hardgate/hardgate/internal/catalog"
)

// MaxBytes caps a waivers file.
const MaxBytes = 1 << 20

// DefaultMaxAhead is how far ahead an expiry date may be when Options do
// not say: one year. Waivers are reviewed, not permanent.
const DefaultMaxAhead = 365 * 24 * time.Hour

// File is a waivers file.
type File struct {
	// Waivers are the accepted risks, in file order.
	Waivers []Waiver `yaml:"waivers"`
}

// Waiver is one accepted risk.
type Waiver struct {
	// Control is the catalog id of the control whose finding is accepted.
	Control string `yaml:"control"`
	// Targets selects targets by name.
	Targets []string `yaml:"targets"`
	// Labels selects targets by label: every label given must match. A
	// waiver needs targets or labels (or both: then both must hold).
	Labels map[string]string `yaml:"labels"`
	// Match, when set, limits the waiver to findings one of whose pieces
	// of evidence contains it (case-sensitive substring).
	Match string `yaml:"match"`
	// Justification says why the risk is accepted (a ticket, a plan).
	Justification string `yaml:"justification"`
	// Owner is who answers for the accepted risk.
	Owner string `yaml:"owner"`
	// Expires is the last day the waiver applies (UTC).
	Expires Date `yaml:"expires"`

	// Line is the line of the waiver in its file (0 when built by hand).
	Line int `yaml:"-"`
}

// Default returns an empty waivers file.
func Default() File { return File{Waivers: []Waiver{}} }

// Date is a calendar day, written YYYY-MM-DD.
type Date struct{ t time.Time }

// ParseDate reads YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date (YYYY-MM-DD)", s)
	}
	return Date{t: t}, nil
}

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d.t.IsZero() }

// String is the date as YYYY-MM-DD ("" when unset).
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.t.Format(time.DateOnly)
}

// Start is 00:00 UTC of the day.
func (d Date) Start() time.Time { return d.t }

// ExpiredAt reports whether the day has passed at now: a waiver applies
// through its last day, until 00:00 UTC of the next.
func (d Date) ExpiredAt(now time.Time) bool { return !now.Before(d.t.AddDate(0, 0, 1)) }

// UnmarshalYAML reads a plain YYYY-MM-DD scalar, quoted or not.
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expires must be a date (YYYY-MM-DD)", n.Line)
	}
	v, err := ParseDate(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: expires: %w", n.Line, err)
	}
	*d = v
	return nil
}

// Parse decodes a waivers file strictly on top of Default: more than
// MaxBytes, an empty file, more than one YAML document, unknown keys and
// wrong types are errors. It does not validate (see Validate).
func Parse(r io.Reader) (*File, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read waivers: %w", err)
	}
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("waivers file is larger than %d bytes", MaxBytes)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("waivers file is empty (write waivers: [] for none)")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); errors.Is(err, io.EOF) {
		return nil, errors.New("waivers file is empty (write waivers: [] for none)")
	} else if err != nil {
		return nil, fmt.Errorf("parse waivers: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("parse waivers: more than one YAML document")
	}
	if len(root.Content) == 0 {
		return nil, errors.New("waivers file is empty (write waivers: [] for none)")
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("parse waivers: line %d: the top level must be a mapping with the key waivers", doc.Line)
	}
	f := Default()
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse waivers: %w", err)
	}
	if f.Waivers == nil {
		return nil, fmt.Errorf("parse waivers: line %d: waivers must be a list (waivers: [] for none)", doc.Line)
	}
	for i, line := range itemLines(doc) {
		if i < len(f.Waivers) {
			f.Waivers[i].Line = line
		}
	}
	return &f, nil
}

// itemLines returns the line of every item of the waivers list.
func itemLines(doc *yaml.Node) []int {
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value != "waivers" || doc.Content[i+1].Kind != yaml.SequenceNode {
			continue
		}
		var lines []int
		for _, item := range doc.Content[i+1].Content {
			lines = append(lines, item.Line)
		}
		return lines
	}
	return nil
}

// Load reads, parses and validates the waivers file at path against the
// catalog (see NewSet). Errors name the file.
func Load(path string, cat *catalog.Catalog, opts Options) (*Set, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open waivers: %w", err)
	}
	defer fh.Close()
	f, err := Parse(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	set, err := NewSet(f, cat, opts)
	if err != nil {
		return nil, fmt.Errorf("%s:\n%w", path, err)
	}
	return set, nil
}
