package waiver

import (
	"slices"
	"strings"
	"time"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/scoring"
)

// Set is a validated waivers file bound to the catalog it was checked
// against; Apply uses that catalog to summarize a result again. A Set is
// read-only: one Set may be applied to many results concurrently.
type Set struct {
	waivers []Waiver
	cat     *catalog.Catalog
}

// NewSet validates f against cat (a waiver for a control the catalog lacks
// is an error) and opts, and returns the set to apply.
func NewSet(f *File, cat *catalog.Catalog, opts Options) (*Set, error) {
	opts.Known = func(id string) bool { _, ok := cat.Get(id); return ok }
	if err := f.Validate(opts); err != nil {
		return nil, err
	}
	return &Set{waivers: slices.Clone(f.Waivers), cat: cat}, nil
}

// Len is the number of waivers in the set.
func (s *Set) Len() int { return len(s.waivers) }

// Use is what one waiver of the set did to one result.
type Use struct {
	// Waiver is the waiver as the result records it.
	Waiver result.Waiver
	// Line is its line in the waivers file.
	Line int
	// Selected is true when the waiver's targets and labels select the result's target.
	Selected bool
	// Expired is true when its last day has passed at the time applied.
	Expired bool
	// Waived are the ids of the failed controls it waived.
	Waived []string
}

// Outcome is what applying a set to one result did, one Use per waiver in
// file order. A fleet collects the outcomes of its results to tell which
// waivers matched nothing anywhere (Unused).
type Outcome []Use

// Apply applies the set to res at now. It first undoes any earlier
// application (waived controls become failed again, so applying twice, or
// again later when a waiver has expired, gives the verdicts of now); then
// every waiver that selects res's target (by res.Target.Name and
// res.Target.Labels) and has not expired turns each failed control it
// matches into status waived, with the waiver. Expired and stale waivers
// of this target are recorded in res.Waivers, and res is summarized again:
// a waived finding counts toward no status, posture, risk score or backlog.
func Apply(res *result.Result, set *Set, now time.Time) Outcome {
	for i := range res.Controls {
		if res.Controls[i].Status == result.StatusWaived {
			res.Controls[i].Status, res.Controls[i].Waiver = result.StatusFail, nil
		}
	}
	report := &result.WaiverReport{CheckedAt: now.UTC(), Expired: []result.Waiver{}, Stale: []result.Waiver{}}
	out := make(Outcome, len(set.waivers))
	for i := range set.waivers {
		w := &set.waivers[i]
		u := Use{Waiver: w.record(), Line: w.Line, Selected: w.selects(res.Target), Expired: w.Expires.ExpiredAt(now)}
		switch {
		case !u.Selected:
		case u.Expired:
			report.Expired = append(report.Expired, u.Waiver)
		default:
			u.Waived = w.waive(res.Controls)
			if len(u.Waived) == 0 {
				report.Stale = append(report.Stale, u.Waiver)
			}
		}
		out[i] = u
	}
	res.Waivers = report
	scoring.Summarize(res, set.cat)
	return out
}

// Unused returns the waivers that waived nothing in any of the outcomes
// (of one set applied to several results): stale across a whole fleet.
func (s *Set) Unused(outcomes ...Outcome) []result.Waiver {
	out := []result.Waiver{}
	for i := range s.waivers {
		used := false
		for _, o := range outcomes {
			if i < len(o) && len(o[i].Waived) > 0 {
				used = true
				break
			}
		}
		if !used {
			out = append(out, s.waivers[i].record())
		}
	}
	return out
}

// selects reports whether the waiver's selectors hold for the target: its
// name is one of Targets (when given) and every label of Labels matches
// (when given).
func (w *Waiver) selects(t result.Target) bool {
	if len(w.Targets) > 0 && !slices.Contains(w.Targets, t.Name) {
		return false
	}
	for k, v := range w.Labels {
		if got, ok := t.Labels[k]; !ok || got != v {
			return false
		}
	}
	return len(w.Targets) > 0 || len(w.Labels) > 0
}

// waive marks the failed controls the waiver matches as waived and returns
// their ids. A control already waived by an earlier waiver keeps that one;
// it still counts as matched.
func (w *Waiver) waive(controls []result.ControlResult) []string {
	var ids []string
	for i := range controls {
		c := &controls[i]
		if c.ID != w.Control || (c.Status != result.StatusFail && c.Status != result.StatusWaived) || !w.matches(c.Evidence) {
			continue
		}
		ids = append(ids, c.ID)
		if c.Status == result.StatusFail {
			rec := w.record()
			c.Status, c.Waiver = result.StatusWaived, &rec
		}
	}
	return ids
}

// matches reports whether one piece of evidence contains Match (always,
// without Match).
func (w *Waiver) matches(evidence []result.Evidence) bool {
	if w.Match == "" {
		return true
	}
	for _, e := range evidence {
		if strings.Contains(EvidenceText(e), w.Match) {
			return true
		}
	}
	return false
}

// record is the waiver as the result carries it.
func (w *Waiver) record() result.Waiver {
	r := result.Waiver{Control: w.Control, Match: w.Match, Justification: w.Justification, Owner: w.Owner, Expires: w.Expires.String()}
	if len(w.Targets) > 0 {
		r.Targets = slices.Clone(w.Targets)
	}
	if len(w.Labels) > 0 {
		r.Labels = make(map[string]string, len(w.Labels))
		for k, v := range w.Labels {
			r.Labels[k] = v
		}
	}
	return r
}

// Waivers returns the set's waivers as the result records them, in file
// order, with their lines.
func (s *Set) Waivers() []Use {
	out := make([]Use, len(s.waivers))
	for i := range s.waivers {
		out[i] = Use{Waiver: s.waivers[i].record(), Line: s.waivers[i].Line}
	}
	return out
}

// ExpiredAt reports whether the i-th waiver of the set has expired at now.
func (s *Set) ExpiredAt(i int, now time.Time) bool { return s.waivers[i].Expires.ExpiredAt(now) }
