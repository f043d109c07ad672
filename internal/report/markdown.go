package report

import (
	"fmt"
	"github.com/hardgate/hardgate/internal/result"
	"io"
	"strings"
)

// renderMarkdown writes the full report as GitHub-flavoured Markdown:
// executive summary, findings with evidence, backlog, framework mapping,
// every control's verdict and the audit metadata.
func renderMarkdown(w io.Writer, res *result.Result, _ RenderOptions) error {
	var b strings.Builder
	mdSummary(&b, res)
	findings := sortedFindings(res)
	mdFindings(&b, findings)
	mdWaived(&b, res)
	mdBacklog(&b, res)
	mdMapping(&b, findings)
	mdControlsAndMetadata(&b, res)
	return writeString(w, b.String())
}

// mdSummary writes the title and the executive summary.
func mdSummary(b *strings.Builder, res *result.Result) {
	s := res.Summary
	fmt.Fprintf(b, "# hardgate audit report: %s\n\n", result.MarkdownText(res.Target.Name))
	b.WriteString("## Executive summary\n\n")
	if s.Headline != "" {
		fmt.Fprintf(b, "> %s\n\n", result.MarkdownText(s.Headline))
	}
	b.WriteString("| | |\n|---|---|\n")
	fmt.Fprintf(b, "| Status | **%s** |\n", result.MarkdownText(s.Status))
	fmt.Fprintf(b, "| Posture | %s **%s** |\n", PostureMark(s.Posture), postureWord(s.Posture))
	fmt.Fprintf(b, "| Risk score | %d |\n", s.RiskScore)
	fmt.Fprintf(b, "| Findings | %d (%s) |\n", s.Findings, countsLine(s))
	fmt.Fprintf(b, "| Controls | %d: %d pass, %d fail, %d not applicable, %d error%s |\n",
		s.Controls.Total, s.Controls.Pass, s.Controls.Fail, s.Controls.NotApplicable, s.Controls.Error, waivedCount(s))
	if res.Waivers != nil {
		fmt.Fprintf(b, "| Waived | %s |\n", waiverSummary(s))
	}
	fmt.Fprintf(b, "| Backlog | %d items |\n", len(res.Backlog))
	fmt.Fprintf(b, "| Positive control (valid token accepted) | %s |\n", ranWord(s.PositiveControlRan))
	if s.NextStep != "" {
		fmt.Fprintf(b, "\n**Recommended next step:** %s\n", result.MarkdownText(s.NextStep))
	}
	if len(s.Domains) > 0 {
		b.WriteString("\n### Posture by domain\n\n| Domain | Posture | Findings | Controls | Errors |\n|---|---|---:|---:|---:|\n")
		for _, d := range sortedDomains(res) {
			fmt.Fprintf(b, "| %s | %s %s | %d | %d | %d |\n", result.MarkdownText(d.Name), PostureMark(d.Posture), postureWord(d.Posture), d.Findings, d.Controls, d.Errors)
		}
	}
	if len(s.Notes) > 0 {
		b.WriteString("\n### Notes\n\n")
		for _, n := range s.Notes {
			fmt.Fprintf(b, "- %s\n", result.MarkdownText(n))
		}
	}
}

// mdFindings writes every finding with its evidence, remediation and verification.
func mdFindings(b *strings.Builder, findings []result.Finding) {
	b.WriteString("\n## Findings\n\n")
	if len(findings) == 0 {
		b.WriteString("No findings.\n\n")
	}
	for i, f := range findings {
		mdFinding(b, fmt.Sprintf("%d.", i+1), f)
	}
}

// mdFinding writes one finding under a level-3 heading numbered n.
func mdFinding(b *strings.Builder, n string, f result.Finding) {
	fmt.Fprintf(b, "### %s [%s] %s\n\n", n, strings.ToUpper(result.MarkdownText(f.Severity)), result.MarkdownCode(f.ID))
	fmt.Fprintf(b, "- Expected: %s\n- Domains: %s\n", result.MarkdownText(f.Title), result.MarkdownText(strings.Join(f.Domains, ", ")))
	if f.Reason != "" {
		fmt.Fprintf(b, "- Observed: %s\n", result.MarkdownText(f.Reason))
	}
	if f.Risk != "" {
		fmt.Fprintf(b, "- Risk: %s\n", result.MarkdownText(f.Risk))
	}
	if w := f.Waiver; w != nil {
		mdWaiverLines(b, *w)
	}
	if len(f.Evidence) > 0 {
		b.WriteString("\n**Evidence**\n\n")
		for _, e := range f.Evidence {
			fmt.Fprintf(b, "- %s\n\n", result.MarkdownText(EvidenceTitle(e)))
			b.WriteString(indent(result.MarkdownFence(EvidenceDetail(e), "text"), "  ") + "\n\n")
		}
	}
	b.WriteString("**Remediation**\n\n")
	fmt.Fprintf(b, "%s\n\n", result.MarkdownText(nonEmpty(f.Remediation.Text, "See the controls reference.")))
	if f.Remediation.ConfigChange != "" {
		b.WriteString(result.MarkdownFence(f.Remediation.ConfigChange, "yaml") + "\n\n")
	}
	if f.Verification.Request != "" {
		fmt.Fprintf(b, "**Verification:** %s → %s\n\n", result.MarkdownCode(f.Verification.Request), result.MarkdownText(f.Verification.Expected))
	}
}

// mdBacklog writes the remediation backlog table.
func mdBacklog(b *strings.Builder, res *result.Result) {
	b.WriteString("## Remediation backlog\n\n")
	backlog := sortedBacklog(res)
	if len(backlog) == 0 {
		b.WriteString("No backlog items.\n")
	} else {
		b.WriteString("| ID | Title | Priority | Severity | Domain | Owner | Acceptance test | Control |\n|---|---|---|---|---|---|---|---|\n")
		for _, it := range backlog {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", result.MarkdownText(it.ID), result.MarkdownText(it.Title), result.MarkdownText(it.Priority),
				result.MarkdownText(it.Severity), result.MarkdownText(it.Domain), result.MarkdownText(it.Owner), result.MarkdownText(it.AcceptanceTest), result.MarkdownCodeCell(it.ControlID))
		}
	}
}

// mdMapping writes the framework references of the findings.
func mdMapping(b *strings.Builder, findings []result.Finding) {
	b.WriteString("\n## Framework mapping\n\n")
	if len(findings) == 0 {
		b.WriteString("No findings to map.\n")
	} else {
		b.WriteString("| Control | Severity | ETSI EN 303 645 | EN 18031-1 | OWASP IoT 2018 | IEC 62443-4-2 | NIST IR 8259A |\n|---|---|---|---|---|---|---|\n")
		for _, f := range findings {
			r := f.References
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", result.MarkdownCodeCell(f.ID), result.MarkdownText(f.Severity), refList(r.ETSIEN303645),
				refList(r.EN18031_1), refList(r.OWASPIoT2018), refList(r.IEC62443_4_2), refList(r.NISTIR8259A))
		}
	}
}

// mdControlsAndMetadata writes every control's verdict and the audit metadata.
func mdControlsAndMetadata(b *strings.Builder, res *result.Result) {
	b.WriteString("\n## Controls\n\n| Control | Status | Severity | Reason |\n|---|---|---|---|\n")
	for _, c := range sortedControls(res) {
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", result.MarkdownCodeCell(c.ID), StatusWord(c.Status), result.MarkdownText(c.Severity), result.MarkdownText(c.Reason))
	}

	b.WriteString("\n## Audit metadata\n\n| | |\n|---|---|\n")
	for _, kv := range metadata(res) {
		fmt.Fprintf(b, "| %s | %s |\n", kv[0], result.MarkdownText(kv[1]))
	}
	for _, cf := range res.Target.ConfigFiles {
		fmt.Fprintf(b, "| Config file | %s (%s), sha256 %s |\n", result.MarkdownCodeCell(cf.Path), result.MarkdownText(cf.Kind), result.MarkdownCodeCell(cf.SHA256))
	}
}

// metadata is the audit metadata as label/value pairs, in print order.
func metadata(res *result.Result) [][2]string {
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
	case result.PostureGreen:
		return "🟢"
	case result.PostureAmber:
		return "🟠"
	case result.PostureRed:
		return "🔴"
	}
	return "⚪"
}

// StatusWord is the printed form of a control status.
func StatusWord(s result.Status) string {
	switch s {
	case result.StatusPass:
		return "pass"
	case result.StatusFail:
		return "FAIL"
	case result.StatusError:
		return "ERROR (undecided)"
	case result.StatusNotApplicable:
		return "not applicable"
	case result.StatusWaived:
		return "WAIVED (accepted risk)"
	}
	return string(s)
}

func countsLine(s result.Summary) string {
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
	return result.MarkdownText(strings.Join(refs, ", "))
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
