package compliance

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/result"
)

// FleetView is a fleet's results seen through one framework: per
// provision, how many targets are in each state and which fail it.
type FleetView struct {
	SchemaVersion string        `json:"schema_version"`
	Framework     Framework     `json:"framework"`
	Targets       []FleetTarget `json:"targets"`
	Disclaimer    string        `json:"disclaimer"`
	// Provisions are in the framework's order; Counts holds the number of
	// targets per state (every state present).
	Provisions []FleetProvision `json:"provisions"`
}

// FleetTarget names one result of the fleet.
type FleetTarget struct {
	Name    string `json:"name"`
	AuditID string `json:"audit_id"`
	Status  string `json:"status"`
	Posture string `json:"posture"`
}

// FleetProvision is one provision over the fleet.
type FleetProvision struct {
	ID      string         `json:"id"`
	Section string         `json:"section,omitempty"`
	Title   string         `json:"title"`
	Counts  map[string]int `json:"counts"`
	// Failing are the targets with evidence of failure, sorted.
	Failing []string `json:"failing"`
}

// BuildFleet builds the view of every result and counts, per provision,
// the targets in each state.
func BuildFleet(results []*result.Result, cat *catalog.Catalog, fw *catalog.Framework) *FleetView {
	fv := &FleetView{SchemaVersion: SchemaVersion, Targets: []FleetTarget{},
		Framework: Framework{ID: fw.ID, Name: fw.Name, Edition: fw.Edition, Term: fw.Term}}
	for _, p := range fw.Provisions {
		fp := FleetProvision{ID: p.ID, Section: p.Section, Title: p.Title, Counts: map[string]int{}, Failing: []string{}}
		for _, s := range States {
			fp.Counts[s] = 0
		}
		fv.Provisions = append(fv.Provisions, fp)
	}
	outside := 0
	for _, res := range results {
		v := Build(res, cat, fw)
		fv.Targets = append(fv.Targets, FleetTarget{Name: res.Target.Name, AuditID: res.AuditID, Status: res.Summary.Status, Posture: res.Summary.Posture})
		for i, p := range v.Provisions {
			fv.Provisions[i].Counts[p.State]++
			if p.State == StateFailure {
				fv.Provisions[i].Failing = append(fv.Provisions[i].Failing, res.Target.Name)
			}
		}
		outside = v.Counts[StateOutside]
	}
	slices.SortFunc(fv.Targets, func(a, b FleetTarget) int { return strings.Compare(a.Name, b.Name) })
	for i := range fv.Provisions {
		slices.Sort(fv.Provisions[i].Failing)
	}
	if len(results) == 0 {
		outside = len(fw.Provisions) - len(mapping(cat, fw))
	}
	fv.Disclaimer = strings.Replace(disclaimer(fw, outside, len(fw.Provisions)), "one hardgate audit of one gateway",
		fmt.Sprintf("%d hardgate audits of a fleet", len(results)), 1)
	return fv
}

// RenderFleet writes fv as md, html or json.
func RenderFleet(w io.Writer, fv *FleetView, format string) error {
	var err error
	switch format {
	case "md":
		err = renderFleetMarkdown(w, fv)
	case "html":
		err = fleetTemplate.Execute(w, fleetHTML{V: fv, CSS: report.StyleSheet(), States: States, Sections: fleetSections(fv)})
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		err = enc.Encode(fv)
	default:
		return fmt.Errorf("%w %q: choose one of %s", ErrUnknownFormat, format, strings.Join(Formats, ", "))
	}
	if err != nil {
		return fmt.Errorf("render fleet compliance view %s: %w", format, err)
	}
	return nil
}

type fleetSection struct {
	Name       string
	Provisions []FleetProvision
}

func fleetSections(fv *FleetView) []fleetSection {
	var out []fleetSection
	for _, p := range fv.Provisions {
		name := p.Section
		if name == "" {
			name = capital(plural(fv.Framework.Term))
		}
		if len(out) == 0 || out[len(out)-1].Name != name {
			out = append(out, fleetSection{Name: name})
		}
		out[len(out)-1].Provisions = append(out[len(out)-1].Provisions, p)
	}
	return out
}

// failingList is the failing targets, at most ten named.
func failingList(names []string) string {
	if len(names) == 0 {
		return "–"
	}
	if len(names) > 10 {
		return strings.Join(names[:10], ", ") + fmt.Sprintf(" and %d more", len(names)-10)
	}
	return strings.Join(names, ", ")
}

func renderFleetMarkdown(w io.Writer, fv *FleetView) error {
	var b strings.Builder
	md := result.MarkdownText
	fmt.Fprintf(&b, "# %s %s: fleet of %d\n\n> %s\n", md(fv.Framework.Name), md(fv.Framework.Edition), len(fv.Targets), md(fv.Disclaimer))
	for _, sec := range fleetSections(fv) {
		fmt.Fprintf(&b, "\n## %s\n\n| %s | %s failure | %s not tested | %s consistent | Targets with evidence of failure |\n|---|---:|---:|---:|---|\n",
			md(sec.Name), capital(fv.Framework.Term), stateMark(StateFailure), stateMark(StateNotTested), stateMark(StateConsistent))
		for _, p := range sec.Provisions {
			if p.Counts[StateOutside] > 0 || len(fv.Targets) == 0 {
				fmt.Fprintf(&b, "| **%s** %s | %s %s | | | |\n", md(p.ID), md(p.Title), stateMark(StateOutside), StateText(StateOutside))
				continue
			}
			fmt.Fprintf(&b, "| **%s** %s | %d | %d | %d | %s |\n", md(p.ID), md(p.Title), p.Counts[StateFailure], p.Counts[StateNotTested],
				p.Counts[StateConsistent], md(failingList(p.Failing)))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

//go:embed assets/fleet.html.tmpl
var fleetText string

var fleetTemplate = template.Must(template.New("fleet").Funcs(report.TemplateFuncs()).Funcs(template.FuncMap{
	"stateText":  StateText,
	"stateClass": stateClass,
	"capital":    capital,
	"plural":     plural,
	"failing":    failingList,
}).Parse(fleetText))

type fleetHTML struct {
	V        *FleetView
	CSS      template.CSS
	States   []string
	Sections []fleetSection
}
