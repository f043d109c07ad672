package waiver

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
)

// FieldError is one problem of a waivers file: the field (with the
// waiver's index and line), the value, and what is wrong.
type FieldError struct {
	Field string
	Line  int
	Value string
	Msg   string
}

func (e *FieldError) Error() string {
	where := e.Field
	if e.Line > 0 {
		where = fmt.Sprintf("%s (line %d)", e.Field, e.Line)
	}
	return fmt.Sprintf("%s: %s (got %q)", where, e.Msg, e.Value)
}

// Options tune Validate.
type Options struct {
	// Now is the clock the expiry dates are judged against; zero uses time.Now.
	Now time.Time
	// MaxAhead is how far after Now an expiry date may be; zero is
	// DefaultMaxAhead (one year).
	MaxAhead time.Duration
	// Known reports whether a control id is in the catalog; nil accepts any
	// well-formed id.
	Known func(id string) bool
}

func (o Options) withDefaults() Options {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.MaxAhead <= 0 {
		o.MaxAhead = DefaultMaxAhead
	}
	return o
}

var controlID = regexp.MustCompile(`^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$`)

// Validate checks every waiver and returns every problem, joined, each a
// *FieldError. An expiry date that has already passed is not an error: the
// waiver is ignored and reported as expired when applied. It changes nothing.
func (f *File) Validate(opts Options) error {
	opts = opts.withDefaults()
	var errs []error
	for i := range f.Waivers {
		errs = append(errs, f.Waivers[i].validate(fmt.Sprintf("waivers[%d]", i), opts)...)
	}
	return errors.Join(errs...)
}

func (w *Waiver) validate(at string, opts Options) []error {
	var errs []error
	add := func(field, value, msg string) {
		errs = append(errs, &FieldError{Field: at + "." + field, Line: w.Line, Value: value, Msg: msg})
	}
	switch {
	case w.Control == "":
		add("control", "", "is required: the id of the control whose finding is accepted")
	case !controlID.MatchString(w.Control):
		add("control", w.Control, "must be a control id, family.name in lower snake case")
	case opts.Known != nil && !opts.Known(w.Control):
		add("control", w.Control, "is not a control of the catalog (hardgate controls lists them)")
	}
	if len(w.Targets) == 0 && len(w.Labels) == 0 {
		add("targets", "", "one selector is required: targets (names) or labels")
	}
	for i, t := range w.Targets {
		if strings.TrimSpace(t) == "" {
			add(fmt.Sprintf("targets[%d]", i), t, "must be a target name")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(w.Labels)) {
		if strings.TrimSpace(k) == "" || strings.TrimSpace(w.Labels[k]) == "" {
			add("labels."+k, w.Labels[k], "label names and values must not be empty")
		}
	}
	if w.Match != "" && strings.TrimSpace(w.Match) == "" {
		add("match", w.Match, "must not be blank (leave it out to accept every finding of the control)")
	}
	if strings.TrimSpace(w.Justification) == "" {
		add("justification", w.Justification, "is required: why the risk is accepted (a ticket, a replacement plan)")
	}
	if strings.TrimSpace(w.Owner) == "" {
		add("owner", w.Owner, "is required: who answers for the accepted risk")
	}
	switch {
	case w.Expires.IsZero():
		add("expires", "", "is required: the last day the waiver applies (YYYY-MM-DD)")
	case w.Expires.Start().After(opts.Now.Add(opts.MaxAhead)):
		add("expires", w.Expires.String(), fmt.Sprintf("is more than %d days ahead (the maximum); waivers are reviewed, not permanent",
			int(math.Round(opts.MaxAhead.Hours()/24))))
	}
	return errs
}
