// Package compliance maps the evidence of an audit to the provisions of a
// framework (ETSI EN 303 645, EN 18031-1, IEC 62443-4-2, OWASP IoT 2018,
// NIST IR 8259A): for every provision the framework has, the controls whose
// catalog references cite it, their verdicts in the result, and a state.
// A view never reads as a certification: every provision no control maps to
// is listed as outside this audit, a provision whose controls did not run
// is not tested, and a waived failure is still evidence of failure.
//
// The provisions and the mapping are catalog data (internal/catalog); this
// package only reads a result and the catalog, and renders md, html or json.
package compliance

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/result"
)

// SchemaVersion is the version of the json view.
const SchemaVersion = "1.0"

// States of a provision.
const (
	// StateFailure: a control that gives evidence for the provision failed
	// (or failed and is waived: an accepted risk is still a failure).
	StateFailure = "failure"
	// StateConsistent: every mapped control that ran passed, and none
	// failed or was undecided.
	StateConsistent = "consistent"
	// StateNotTested: controls map to the provision, but none gave evidence
	// in this audit (not applicable to the target, undecided, or absent).
	StateNotTested = "not_tested"
	// StateOutside: no hardgate control maps to the provision (processes,
	// documentation, update mechanisms, hardware): outside this audit.
	StateOutside = "outside"
)

// States lists the states, worst first.
var States = []string{StateFailure, StateNotTested, StateConsistent, StateOutside}

// StateText is a state in words.
func StateText(state string) string {
	switch state {
	case StateFailure:
		return "evidence of failure"
	case StateConsistent:
		return "evidence consistent with the provision"
	case StateNotTested:
		return "not tested by hardgate"
	case StateOutside:
		return "outside this audit"
	}
	return state
}

// View is one result seen through one framework.
type View struct {
	SchemaVersion string    `json:"schema_version"`
	Framework     Framework `json:"framework"`
	Audit         Audit     `json:"audit"`
	// Disclaimer says what the view is not.
	Disclaimer string `json:"disclaimer"`
	// Counts counts the provisions by state.
	Counts     map[string]int `json:"counts"`
	Provisions []Provision    `json:"provisions"`
	// Notes are caveats: controls of the result the catalog does not know.
	Notes []string `json:"notes"`
}

// Framework names the framework of a view.
type Framework struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Edition string `json:"edition"`
	Term    string `json:"term"`
}

// Audit names the result a view reads.
type Audit struct {
	Target     string    `json:"target"`
	AuditID    string    `json:"audit_id"`
	FinishedAt time.Time `json:"finished_at"`
	Status     string    `json:"status"`
	Posture    string    `json:"posture"`
	RiskScore  int       `json:"risk_score"`
}

// Provision is one provision with its state and the evidence behind it.
type Provision struct {
	ID      string `json:"id"`
	Section string `json:"section,omitempty"`
	Title   string `json:"title"`
	State   string `json:"state"`
	// Why explains the state in one line.
	Why      string     `json:"why"`
	Controls []Evidence `json:"controls"`
}

// Evidence is one mapped control and its verdict in the result.
type Evidence struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Severity string `json:"severity"`
	// Status is the control's status, "absent" when the result lacks it.
	Status string         `json:"status"`
	Reason string         `json:"reason,omitempty"`
	Waiver *result.Waiver `json:"waiver,omitempty"`
}

// StatusAbsent is the status of a mapped control the result does not hold.
const StatusAbsent = "absent"

// Build maps res to the framework fw through the catalog's references.
func Build(res *result.Result, cat *catalog.Catalog, fw *catalog.Framework) *View {
	v := &View{
		SchemaVersion: SchemaVersion,
		Framework:     Framework{ID: fw.ID, Name: fw.Name, Edition: fw.Edition, Term: fw.Term},
		Audit: Audit{Target: res.Target.Name, AuditID: res.AuditID, FinishedAt: res.FinishedAt,
			Status: res.Summary.Status, Posture: res.Summary.Posture, RiskScore: res.Summary.RiskScore},
		Counts: map[string]int{}, Provisions: []Provision{}, Notes: []string{},
	}
	for _, s := range States {
		v.Counts[s] = 0
	}
	mapped := mapping(cat, fw)
	byID := map[string]result.ControlResult{}
	for _, c := range res.Controls {
		byID[c.ID] = c
	}
	for _, p := range fw.Provisions {
		pv := Provision{ID: p.ID, Section: p.Section, Title: p.Title, Controls: []Evidence{}}
		for _, id := range mapped[p.ID] {
			pv.Controls = append(pv.Controls, evidence(id, byID, cat))
		}
		pv.State, pv.Why = judge(pv.Controls)
		v.Counts[pv.State]++
		v.Provisions = append(v.Provisions, pv)
	}
	var unknown []string
	for _, c := range res.Controls {
		if _, ok := cat.Get(c.ID); !ok {
			unknown = append(unknown, c.ID)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		v.Notes = append(v.Notes, fmt.Sprintf("%d control(s) of the result are not in the catalog, so their evidence is not mapped "+
			"(load the user's own controls with --controls-dir): %s.", len(unknown), strings.Join(unknown, ", ")))
	}
	v.Disclaimer = disclaimer(fw, v.Counts[StateOutside], len(fw.Provisions))
	return v
}

// mapping lists, per provision id, the catalog controls citing it, by id.
func mapping(cat *catalog.Catalog, fw *catalog.Framework) map[string][]string {
	out := map[string][]string{}
	for _, c := range cat.Controls {
		for _, ref := range fw.Refs(c.References) {
			if p, ok := fw.Lookup(ref); ok && !slices.Contains(out[p.ID], c.ID) {
				out[p.ID] = append(out[p.ID], c.ID)
			}
		}
	}
	return out
}

func evidence(id string, byID map[string]result.ControlResult, cat *catalog.Catalog) Evidence {
	c, _ := cat.Get(id)
	e := Evidence{ID: id, Title: c.Title, Severity: c.Severity, Status: StatusAbsent}
	if cr, ok := byID[id]; ok {
		e.Status, e.Reason, e.Waiver = string(cr.Status), cr.Reason, cr.Waiver
	}
	return e
}

// judge decides a provision's state from its controls' verdicts: any
// failure (waived or not) is evidence of failure; otherwise anything
// undecided leaves it not tested, as does nothing having run; otherwise a
// pass is evidence consistent with it. With no control it is outside.
func judge(controls []Evidence) (string, string) {
	if len(controls) == 0 {
		return StateOutside, "no hardgate control gives evidence for it"
	}
	n := map[string]int{}
	for _, c := range controls {
		n[c.Status]++
	}
	fails := n[string(result.StatusFail)] + n[string(result.StatusWaived)]
	switch {
	case fails > 0:
		why := fmt.Sprintf("%d of %d control(s) fail", fails, len(controls))
		if w := n[string(result.StatusWaived)]; w > 0 {
			why += fmt.Sprintf(" (%d waived as accepted risk)", w)
		}
		return StateFailure, why
	case n[string(result.StatusError)] > 0:
		return StateNotTested, fmt.Sprintf("%d of %d control(s) could not decide", n[string(result.StatusError)], len(controls))
	case n[string(result.StatusPass)] == len(controls):
		return StateConsistent, fmt.Sprintf("all %d control(s) pass", len(controls))
	case n[string(result.StatusPass)] > 0:
		return StateConsistent, fmt.Sprintf("%d of %d control(s) pass; the others did not apply", n[string(result.StatusPass)], len(controls))
	default:
		return StateNotTested, "its controls did not apply to this target"
	}
}

func disclaimer(fw *catalog.Framework, outside, total int) string {
	return fmt.Sprintf("This view maps the evidence of one hardgate audit of one gateway to %s %s. It is not a certification "+
		"or a conformity assessment: hardgate observes a gateway's network behaviour and configuration, and %d of the %d %s "+
		"are outside this audit (processes, documentation, update mechanisms, hardware), needing evidence of another kind. "+
		"\"Consistent\" means only that no mapped control found a failure.", fw.Name, fw.Edition, outside, total, plural(fw.Term))
}
