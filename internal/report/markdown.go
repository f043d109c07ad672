package report

import (
	"fmt"
	"io"
	"strings"
)

// renderMarkdown writes the full report as GitHub-flavoured Markdown:
// executive summary, findings with evidence, backlog, framework mapping,
// every control's verdict and the audit metadata.
func renderMarkdown(w io.Writer, res *Result, _ RenderOptions) error {
	var b strings.Builder
	s := res.Summary
	fmt.Fprintf(&b, "# hardgate audit report: %s\n\n", mdText(res.Target.Name))
	b.WriteString("## Executive summary\n\n")
	if s.Headline != "" {
		fmt.Fprintf(&b, "> %s\n\n", mdText(s.Headline))
	}
	b.WriteString("| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Status | **%s** |\n", mdText(s.Status))
	fmt.Fprintf(&b, "| Posture | %s **%s** |\n", PostureMark(s.Posture), postureWord(s.Posture))
	fmt.Fprintf(&b, "| Risk score | %d |\n", s.RiskScore)
	fmt.Fprintf(&b, "| Findings | %d (%s) |\n", s.Findings, countsLine(s))
	fmt.Fprintf(&b, "| Controls | %d: %d pass, %d fail, %d not applicable, %d error |\n",
		s.Controls.Total, s.Controls.Pass, s.Controls.Fail, s.Controls.NotApplicable, s.Controls.Error)
	fmt.Fprintf(&b, "| Backlog | %d items |\n", len(res.Backlog))
	fmt.Fprintf(&b, "| Positive control (valid token accepted) | %s |\n", ranWord(s.PositiveControlRan))
	if s.NextStep != "" {
		fmt.Fprintf(&b, "\n**Recommended next step:** %s\n", mdText(s.NextStep))
	}
	if len(s.Domains) > 0 {
		b.WriteString("\n### Posture by domain\n\n| Domain | Posture | Findings | Controls | Errors |\n|---|---|---:|---:|---:|\n")
		for _, d := range sortedDomains(res) {
			fmt.Fprintf(&b, "| %s | %s %s | %d | %d | %d |\n", mdText(d.Name), PostureMark(d.Posture), postureWord(d.Posture), d.Findings, d.Controls, d.Errors)
		}
	}
	if len(s.Notes) > 0 {
		b.WriteString("\n### Notes\n\n")
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "- %s\n", mdText(n))
		}
	}

	b.WriteString("\n## Findings\n\n")
	findings := sortedFindings(res)
	if len(findings) == 0 {
		b.WriteString("No findings.\n\n")
	}
	for i, f := range findings {
		fmt.Fprintf(&b, "### %d. [%s] %s\n\n", i+1, strings.ToUpper(mdText(f.Severity)), code(f.ID))
		fmt.Fprintf(&b, "- Expected: %s\n- Domains: %s\n", mdText(f.Title), mdText(strings.Join(f.Domains, ", ")))
		if f.Reason != "" {
			fmt.Fprintf(&b, "- Observed: %s\n", mdText(f.Reason))
		}
		if f.Risk != "" {
			fmt.Fprintf(&b, "- Risk: %s\n", mdText(f.Risk))
		}
		if len(f.Evidence) > 0 {
			b.WriteString("\n**Evidence**\n\n")
			for _, e := range f.Evidence {
				fmt.Fprintf(&b, "- %s\n\n", mdText(EvidenceTitle(e)))
				b.WriteString(indent(fence(EvidenceDetail(e), "text"), "  ") + "\n\n")
			}
		}
		b.WriteString("**Remediation**\n\n")
		fmt.Fprintf(&b, "%s\n\n", mdText(nonEmpty(f.Remediation.Text, "See the controls reference.")))
		if f.Remediation.ConfigChange != "" {
			b.WriteString(fence(f.Remediation.ConfigChange, "yaml") + "\n\n")
		}
		if f.Verification.Request != "" {
			fmt.Fprintf(&b, "**Verification:** %s → %s\n\n", code(f.Verification.Request), mdText(f.Verification.Expected))
		}
	}

	b.WriteString("## Remediation backlog\n\n")
	backlog := sortedBacklog(res)
	if len(backlog) == 0 {
		b.WriteString("No backlog items.\n")
	} else {
		b.WriteString("| ID | Title | Priority | Severity | Domain | Owner | Acceptance test | Control |\n|---|---|---|---|---|---|---|---|\n")
		for _, it := range backlog {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", mdText(it.ID), mdText(it.Title), mdText(it.Priority),
				mdText(it.Severity), mdText(it.Domain), mdText(it.Owner), mdText(it.AcceptanceTest), codeCell(it.ControlID))
		}
	}

	b.WriteString("\n## Framework mapping\n\n")
	if len(findings) == 0 {
		b.WriteString("No findings to map.\n")
	} else {
		b.WriteString("| Control | Severity | ETSI EN 303 645 | OWASP IoT 2018 | IEC 62443-4-2 | NIST IR 8259A |\n|---|---|---|---|---|---|\n")
		for _, f := range findings {
			r := f.References
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", codeCell(f.ID), mdText(f.Severity), refList(r.ETSIEN303645),
				refList(r.OWASPIoT2018), refList(r.IEC62443_4_2), refList(r.NISTIR8259A))
		}
	}

	b.WriteString("\n## Controls\n\n| Control | Status | Severity | Reason |\n|---|---|---|---|\n")
	for _, c := range sortedControls(res) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", codeCell(c.ID), StatusWord(c.Status), mdText(c.Severity), mdText(c.Reason))
	}

	b.WriteString("\n## Audit metadata\n\n| | |\n|---|---|\n")
	for _, kv := range metadata(res) {
		fmt.Fprintf(&b, "| %s | %s |\n", kv[0], mdText(kv[1]))
	}
	for _, cf := range res.Target.ConfigFiles {
		fmt.Fprintf(&b, "| Config file | %s (%s), sha256 %s |\n", codeCell(cf.Path), mdText(cf.Kind), codeCell(cf.SHA256))
	}
	return writeString(w, b.String())
}

// metadata is the audit metadata as label/value pairs, in print order.
func metadata(res *Result) [][2]string {
	t := res.Target
	kv := [][2]string{
		{"Target", t.Name},
		{"Ingest URLs", strings.Join(t.IngestURLs, ", ")},
	}
	if t.HealthURL != "" {
		kv = append(kv, [2]string{"Health URL", t.HealthURL})
	}
	if len(t.TLSAddrs) > 0 {
		kv = append(kv, [2]string{"TLS endpoints", strings.Join(t.TLSAddrs, ", ")})
	}
	if len(t.MQTTURLs) > 0 {
		kv = append(kv, [2]string{"MQTT endpoints", strings.Join(t.MQTTURLs, ", ")})
	}
	if t.CAFile != "" {
		kv = append(kv, [2]string{"Trust anchor", t.CAFile})
	}
	kv = append(kv,
		[2]string{"Audit id", res.AuditID},
		[2]string{"Started", res.StartedAt.UTC().Format("2006-01-02 15:04:05Z")},
		[2]string{"Finished", res.FinishedAt.UTC().Format("2006-01-02 15:04:05Z")},
		[2]string{"Tool", strings.TrimSpace(res.Tool.Name + " " + res.Tool.Version)},
		[2]string{"Result schema", res.SchemaVersion},
	)
	return kv
}

// PostureMark is a coloured symbol for a posture, for Markdown and text.
func PostureMark(p string) string {
	switch p {
	case PostureGreen:
		return "🟢"
	case PostureAmber:
		return "🟠"
	case PostureRed:
		return "🔴"
	}
	return "⚪"
}

// StatusWord is the printed form of a control status.
func StatusWord(s Status) string {
	switch s {
	case StatusPass:
		return "pass"
	case StatusFail:
		return "FAIL"
	case StatusError:
		return "ERROR (undecided)"
	case StatusNotApplicable:
		return "not applicable"
	}
	return string(s)
}

func countsLine(s Summary) string {
	var parts []string
	for _, c := range severityCounts(s) {
		parts = append(parts, fmt.Sprintf("%d %s", c.Count, c.Severity))
	}
	return strings.Join(parts, ", ")
}

func ranWord(ran bool) string {
	if ran {
		return "ran"
	}
	return "did not run (no valid token given)"
}

func refList(refs []string) string {
	if len(refs) == 0 {
		return "–"
	}
	return mdText(strings.Join(refs, ", "))
}

var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`,
	"`", "\\`", "[", `\[`, "]", `\]`, "#", `\#`, "\r", " ", "\n", " ",
)

// mdText escapes s for Markdown inline text and table cells.
func mdText(s string) string { return mdEscaper.Replace(strings.TrimSpace(s)) }

// codeCell renders s as an inline code span inside a table cell, where a
// pipe must be escaped even in code (GFM).
func codeCell(s string) string {
	return strings.ReplaceAll(code(s), "|", `\|`)
}

// code renders s as an inline code span on one line.
func code(s string) string {
	if s == "" {
		return "–"
	}
	s = strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
	ticks := "`"
	for strings.Contains(s, ticks) {
		ticks += "`"
	}
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return ticks + pad + s + pad + ticks
}

// fence wraps s in a fenced code block longer than any backtick run in s.
func fence(s, lang string) string {
	n := 3
	run := 0
	for _, r := range s {
		if r == '`' {
			run++
			if run >= n {
				n = run + 1
			}
		} else {
			run = 0
		}
	}
	f := strings.Repeat("`", n)
	return f + lang + "\n" + strings.TrimRight(s, "\n") + "\n" + f
}

func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}
