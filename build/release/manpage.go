package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
)

// manPage is one roff man page made from --help text.
type manPage struct {
	// Name is the page name: hardgate, hardgate-audit, ingestd.
	Name string
	// Section is the manual section: 1 (user commands), 8 (daemons).
	Section int
	// File is the page's file name, e.g. hardgate-audit.1.gz.
	File string
	// Roff is the page source, uncompressed.
	Roff string
}

// extraSection is a section written for a page, not read from --help.
type extraSection struct {
	Title string
	// Items are tag and text pairs, rendered as .TP paragraphs.
	Items [][2]string
}

// manPages renders the pages of a program: with split, one page for the
// program and one per subcommand (hardgate, hardgate-audit, ...), as git
// does; else one page holding every subcommand's help.
func manPages(c *command, section int, split bool, source, date string, extra []extraSection) []manPage {
	prog := c.Path[0]
	var seeAlso []string
	var subs []*command
	if split {
		for _, s := range c.Sub {
			seeAlso = append(seeAlso, fmt.Sprintf("%s-%s(%d)", prog, s.Path[1], section))
		}
	} else {
		subs = c.Sub
	}
	pages := []manPage{renderPage(prog, section, topSummary(c), c.Help, subs, seeAlso, source, date, extra)}
	if !split {
		return pages
	}
	for _, s := range c.Sub {
		name := prog + "-" + s.Path[1]
		pages = append(pages, renderPage(name, section, s.Summary, s.Help, s.Sub,
			[]string{fmt.Sprintf("%s(%d)", prog, section)}, source, date, nil))
	}
	return pages
}

// topSummary is the first line of a program's help without its name:
// "ingestd: hardened telemetry ingest gateway (...)" → "hardened telemetry ...".
func topSummary(c *command) string {
	first, _, _ := strings.Cut(strings.TrimSpace(c.Help), "\n")
	s := strings.TrimPrefix(first, c.Path[0])
	s = strings.TrimPrefix(s, ":")
	return strings.TrimSuffix(strings.TrimSpace(s), ".")
}

func renderPage(name string, section int, summary, help string, subs []*command, seeAlso []string, source, date string, extra []extraSection) manPage {
	var b strings.Builder
	fmt.Fprintf(&b, ".\\\" Generated from --help by build/release; do not edit.\n")
	fmt.Fprintf(&b, ".TH %s %d %s %s\n", quote(strings.ToUpper(name)), section, quote(date), quote(source))
	b.WriteString(".SH NAME\n")
	if summary == "" {
		summary = "see DESCRIPTION"
	}
	fmt.Fprintf(&b, "%s \\- %s\n", escape(name), escape(summary))
	b.WriteString(".SH DESCRIPTION\n")
	verbatim(&b, help)
	if len(subs) > 0 {
		b.WriteString(".SH COMMANDS\n")
		for _, s := range subs {
			fmt.Fprintf(&b, ".SS %s\n", quote(s.Name()))
			verbatim(&b, s.Help)
			for _, ss := range s.Sub {
				if ss.Help == s.Help {
					continue
				}
				fmt.Fprintf(&b, ".SS %s\n", quote(ss.Name()))
				verbatim(&b, ss.Help)
			}
		}
	}
	for _, e := range extra {
		fmt.Fprintf(&b, ".SH %s\n", quote(strings.ToUpper(e.Title)))
		for _, it := range e.Items {
			fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", escape(it[0]), escape(it[1]))
		}
	}
	if len(seeAlso) > 0 {
		b.WriteString(".SH SEE ALSO\n")
		for i, s := range seeAlso {
			page, sec, _ := strings.Cut(strings.TrimSuffix(s, ")"), "(")
			sep := ","
			if i == len(seeAlso)-1 {
				sep = ""
			}
			fmt.Fprintf(&b, ".BR %s (%s)%s\n", escape(page), sec, sep)
		}
	}
	return manPage{Name: name, Section: section, File: fmt.Sprintf("%s.%d.gz", name, section), Roff: b.String()}
}

// verbatim writes text as a no-fill block, so the help keeps its layout.
func verbatim(b *strings.Builder, text string) {
	b.WriteString(".nf\n")
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		line = escape(expandTabs(line))
		if line == "" {
			b.WriteString(".sp\n")
			continue
		}
		b.WriteString(line + "\n")
	}
	b.WriteString(".fi\n")
}

// escape makes text safe as a roff text line: backslashes and minus signs
// escaped, and a leading control character neutralised.
func escape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// quote is a roff macro argument in double quotes (a quote inside is doubled).
func quote(s string) string {
	return `"` + strings.ReplaceAll(escape(s), `"`, `""`) + `"`
}

// expandTabs replaces tabs with spaces to the next multiple of 8 columns.
func expandTabs(s string) string {
	if !strings.Contains(s, "\t") {
		return s
	}
	var b strings.Builder
	col := 0
	for _, r := range s {
		if r == '\t' {
			n := 8 - col%8
			b.WriteString(strings.Repeat(" ", n))
			col += n
			continue
		}
		b.WriteRune(r)
		col++
	}
	return b.String()
}

// gzipBytes compresses data like "gzip -9n": best compression, no name
// and no time in the header, so the output depends on data only.
func gzipBytes(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
