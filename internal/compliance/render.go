package compliance

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"strings"
	"unicode"

	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/result"
)

// Formats lists the formats Render accepts.
var Formats = []string{"md", "html", "json"}

// ErrUnknownFormat is returned by Render for a format it does not know.
var ErrUnknownFormat = errors.New("unknown compliance format")

// Render writes v as md, html or json. The output depends only on v.
func Render(w io.Writer, v *View, format string) error {
	if v == nil {
		return errors.New("render compliance view: no view")
	}
	var err error
	switch format {
	case "md":
		err = renderMarkdown(w, v)
	case "html":
		err = renderHTML(w, v)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		err = enc.Encode(v)
	default:
		return fmt.Errorf("%w %q: choose one of %s", ErrUnknownFormat, format, strings.Join(Formats, ", "))
	}
	if err != nil {
		return fmt.Errorf("render compliance view %s: %w", format, err)
	}
	return nil
}

// stateMark is a state's symbol in Markdown.
func stateMark(state string) string {
	switch state {
	case StateFailure:
		return "🔴"
	case StateConsistent:
		return "🟢"
	case StateNotTested:
		return "⚪"
	}
	return "▫️"
}

// verdict is a mapped control's verdict in words.
func verdict(e Evidence) string {
	if e.Status == StatusAbsent {
		return "absent from this result"
	}
	s := report.StatusWord(result.Status(e.Status))
	if e.Waiver != nil {
		s += " until " + e.Waiver.Expires
	}
	return s
}

// capital is s with its first letter upper case.
func capital(s string) string {
	r := []rune(s)
	if len(r) > 0 {
		r[0] = unicode.ToUpper(r[0])
	}
	return string(r)
}

// plural is a framework's term in the plural ("capabilities").
func plural(term string) string {
	if strings.HasSuffix(term, "y") {
		return strings.TrimSuffix(term, "y") + "ies"
	}
	return term + "s"
}

// sections groups provisions by section, in framework order; a framework
// without sections is one group named after its term.
type section struct {
	Name       string
	Provisions []Provision
}

func sections(v *View) []section {
	var out []section
	for _, p := range v.Provisions {
		name := p.Section
		if name == "" {
			name = capital(plural(v.Framework.Term))
		}
		if len(out) == 0 || out[len(out)-1].Name != name {
			out = append(out, section{Name: name})
		}
		out[len(out)-1].Provisions = append(out[len(out)-1].Provisions, p)
	}
	return out
}

func renderMarkdown(w io.Writer, v *View) error {
	var b strings.Builder
	md := result.MarkdownText
	fmt.Fprintf(&b, "# %s %s: %s\n\n", md(v.Framework.Name), md(v.Framework.Edition), md(v.Audit.Target))
	fmt.Fprintf(&b, "> %s\n\n", md(v.Disclaimer))
	fmt.Fprintf(&b, "Audit %s of **%s**, finished %s: **%s**, posture %s, risk score %d.\n\n", result.MarkdownCode(v.Audit.AuditID),
		md(v.Audit.Target), v.Audit.FinishedAt.UTC().Format("2006-01-02 15:04:05Z"), md(v.Audit.Status), md(v.Audit.Posture), v.Audit.RiskScore)
	fmt.Fprintf(&b, "| State | %s |\n|---|---:|\n", capital(plural(v.Framework.Term)))
	for _, s := range States {
		fmt.Fprintf(&b, "| %s %s | %d |\n", stateMark(s), capital(StateText(s)), v.Counts[s])
	}
	for _, sec := range sections(v) {
		fmt.Fprintf(&b, "\n## %s\n\n| %s | State | Controls (verdict) |\n|---|---|---|\n", md(sec.Name), capital(v.Framework.Term))
		for _, p := range sec.Provisions {
			cells := make([]string, len(p.Controls))
			for i, c := range p.Controls {
				cells[i] = result.MarkdownCodeCell(c.ID) + " " + md(verdict(c))
			}
			controls := strings.Join(cells, "<br>")
			if controls == "" {
				controls = "–"
			}
			fmt.Fprintf(&b, "| **%s** %s | %s %s: %s | %s |\n", md(p.ID), md(p.Title), stateMark(p.State), StateText(p.State), md(p.Why), controls)
		}
	}
	if len(v.Notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range v.Notes {
			fmt.Fprintf(&b, "- %s\n", md(n))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

//go:embed assets/compliance.html.tmpl
var htmlText string

var htmlTemplate = template.Must(template.New("compliance").Funcs(report.TemplateFuncs()).Funcs(template.FuncMap{
	"stateText":  StateText,
	"stateClass": stateClass,
	"verdict":    verdict,
	"capital":    capital,
	"plural":     plural,
}).Parse(htmlText))

// stateClass is a state as a badge class of the shared style sheet.
func stateClass(state string) string {
	switch state {
	case StateFailure:
		return "fail"
	case StateConsistent:
		return "pass"
	case StateNotTested:
		return "error"
	}
	return "outside"
}

type htmlView struct {
	V        *View
	CSS      template.CSS
	States   []string
	Sections []section
}

func renderHTML(w io.Writer, v *View) error {
	return htmlTemplate.Execute(w, htmlView{V: v, CSS: report.StyleSheet(), States: States, Sections: sections(v)})
}
