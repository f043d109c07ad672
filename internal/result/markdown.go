package result

import "strings"

// mdEscaper neutralises every character that starts Markdown markup in
// inline text or a GFM table cell: emphasis, code, links and images ([ ]),
// autolinks and raw HTML (< >), headings, and the cell separator (|). Line
// breaks become spaces so a value stays on its line.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`,
	"`", "\\`", "[", `\[`, "]", `\]`, "#", `\#`, "\r", " ", "\n", " ",
)

// MarkdownText escapes s (trimmed) for Markdown inline text and table
// cells. Every renderer that writes Markdown uses it for target-controlled
// text, so a target name or reason cannot inject a link, an image or HTML.
func MarkdownText(s string) string { return mdEscaper.Replace(strings.TrimSpace(s)) }

// MarkdownCode renders s as an inline code span on one line, fenced by more
// backticks than any run inside it; "–" for an empty s.
func MarkdownCode(s string) string {
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

// MarkdownCodeCell is MarkdownCode inside a GFM table cell, where a pipe
// must be escaped even in code.
func MarkdownCodeCell(s string) string {
	return strings.ReplaceAll(MarkdownCode(s), "|", `\|`)
}

// MarkdownFence wraps s in a fenced code block longer than any backtick run
// in s, so the content cannot close the fence.
func MarkdownFence(s, lang string) string {
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
