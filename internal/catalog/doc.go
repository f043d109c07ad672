package catalog

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// redirectRule is the one rule every control applies to a redirect.
const redirectRule = `**Redirects.** hardgate never follows a redirect: following would send the probe,
and for the positive control the valid token, wherever the target points. Every control judges
a 3xx answer by the same rule. A redirect neither serves nor refuses the request, so a control
that asks whether a request was accepted, refused or answered healthy cannot decide from it:
its status is ` + "`error`" + ` (undecided), never ` + "`pass`" + ` and never ` + "`fail`" + `, and the
reason names the status and the Location. The one exception is where the redirect is itself
the finding: ` + "`ingest_auth.insecure_transport`" + ` fails when a plaintext ingest URL answers
with a redirect (to https or anywhere: the device has already sent its body and credentials in
cleartext) and when an https ingest URL redirects any of the audit's requests to http:// (or
any non-https URL) or to another host.

`

// Formats lists the formats Write accepts.
var Formats = []string{"text", "json", "md"}

// Write renders the catalog as text, json or md. The md form is
// docs/controls.md; a test fails when that file is stale.
func (c *Catalog) Write(w io.Writer, format string) error {
	switch format {
	case "text":
		return c.writeText(w)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			Domains  []string  `json:"domains"`
			Controls []Control `json:"controls"`
		}{Domains, c.Controls})
	case "md":
		return c.writeMarkdown(w)
	default:
		return fmt.Errorf("unknown format %q: choose one of %s", format, strings.Join(Formats, ", "))
	}
}

func (c *Catalog) writeText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tDOMAINS\tTITLE")
	for _, ctl := range c.Controls {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ctl.ID, ctl.Severity, strings.Join(ctl.Domains, ", "), ctl.Title)
	}
	return tw.Flush()
}

func (c *Catalog) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# Controls reference\n\n")
	b.WriteString("<!-- Generated from internal/catalog/controls/*.yaml by `go test ./internal/catalog -run TestControlsDoc -update`; do not edit. -->\n\n")
	b.WriteString("Each control id names the failing condition; the title states the passing case. ")
	b.WriteString("A control's status is `pass`, `fail`, `not_applicable` or `error` (could not decide, never counted as a pass).\n\n")
	b.WriteString(redirectRule)
	fmt.Fprintf(&b, "%d controls in %d domains: %s.\n\n", len(c.Controls), len(Domains), strings.Join(Domains, ", "))
	b.WriteString("| id | severity | domains | title |\n|---|---|---|---|\n")
	for _, ctl := range c.Controls {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s | %s |\n", ctl.ID, anchor(ctl.ID), ctl.Severity, strings.Join(ctl.Domains, ", "), ctl.Title)
	}
	b.WriteString(customControlsDoc)
	for _, ctl := range c.Controls {
		fmt.Fprintf(&b, "\n## %s\n\n", ctl.ID)
		fmt.Fprintf(&b, "**%s** (fails as: %s)\n\n", ctl.Title, ctl.FindingTitle)
		fmt.Fprintf(&b, "- Severity: %s\n- Domains: %s\n- Owner: %s\n- Backlog title: %s\n\n", ctl.Severity, strings.Join(ctl.Domains, ", "), ctl.Owner, ctl.Action)
		fmt.Fprintf(&b, "%s\n\n", ctl.Description)
		if d := ctl.Decision; d != nil {
			fmt.Fprintf(&b, "**Decision.**\n\n- pass: %s\n- fail: %s\n- undecided (`error`): %s\n", d.Pass, d.Fail, d.Undecided)
			if d.NotApplicable != "" {
				fmt.Fprintf(&b, "- not applicable: %s\n", d.NotApplicable)
			}
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "**Risk.** %s\n\n**Remediation.** %s\n\n", ctl.Risk, ctl.Remediation.Text)
		fmt.Fprintf(&b, "```\n%s\n```\n\n", strings.TrimRight(ctl.Remediation.ConfigChange, "\n"))
		fmt.Fprintf(&b, "**Verification.** `%s` — expected: %s\n\n", ctl.Verification.Request, ctl.Verification.Expected)
		if ctl.Config != nil {
			fmt.Fprintf(&b, "**Config rule** (%s config; fails when all hold):\n\n", ctl.Config.Kind)
			for i := range ctl.Config.FailWhen {
				fmt.Fprintf(&b, "- %s\n", ctl.Config.FailWhen[i].Describe())
			}
			b.WriteString("\n")
		}
		if len(ctl.Params) > 0 {
			b.WriteString("**Thresholds** (catalog params, read by the evaluation):\n\n")
			for _, name := range slices.Sorted(maps.Keys(ctl.Params)) {
				fmt.Fprintf(&b, "- `%s`: %s\n", name, ctl.Params[name].Text())
			}
			b.WriteString("\n")
		}
		b.WriteString("| framework | references |\n|---|---|\n")
		r := ctl.References
		fmt.Fprintf(&b, "| ETSI EN 303 645 | %s |\n", strings.Join(r.ETSIEN303645, "; "))
		fmt.Fprintf(&b, "| OWASP IoT Top 10 (2018) | %s |\n", strings.Join(r.OWASPIoT2018, "; "))
		fmt.Fprintf(&b, "| IEC 62443-4-2 | %s |\n", strings.Join(r.IEC62443_4_2, "; "))
		fmt.Fprintf(&b, "| NIST IR 8259A | %s |\n", strings.Join(r.NISTIR8259A, "; "))
		if len(r.EN18031_1) > 0 {
			fmt.Fprintf(&b, "| EN 18031-1 | %s |\n", strings.Join(r.EN18031_1, "; "))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func anchor(id string) string {
	return strings.NewReplacer(".", "", "_", "_").Replace(strings.ToLower(id))
}

// customControlsDoc is the section of docs/controls.md on the user's own controls.
const customControlsDoc = `
## Custom controls

A customer's own rules load with ` + "`--controls-dir DIR`" + ` (on ` + "`hardgate audit`" + ` and ` + "`hardgate controls`" + `,
which lists them beside these): every ` + "`*.yaml`" + ` file of DIR, read by the same strict loader as this
catalog (every field above, the framework references, unknown keys refused), with three more
rules. A custom control's id starts with ` + "`custom.`" + `, so it never collides with a built-in id; it
is a config guardrail, with a ` + "`config:`" + ` block of kind ` + "`ingestd`" + ` or ` + "`mosquitto`" + ` whose ` + "`fail_when`" + `
rules use the closed vocabulary (` + "`equals`" + `, ` + "`not_equals`" + `, ` + "`one_of`" + `, ` + "`empty`" + `, ` + "`not_empty`" + `;
it fails when every rule matches the effective config, with file and line as evidence); and it
has no ` + "`params`" + `. An ingestd rule key that ingestd does not have is a load error. No Go code is
involved: the config rule engine judges them, and waivers and compliance views treat them like
any other control. [examples/custom-controls/site-policy.yaml](../examples/custom-controls/site-policy.yaml)
is a worked file.
`
