package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/outfile"
	"github.com/hardgate/hardgate/internal/report"
)

const reportUsage = `Usage: hardgate report RESULT.json [--format FORMAT] [--out FILE] [--color auto|always|never]
       hardgate report RESULT.json|DIR/fleet.json --format compliance --framework F
                                  [--compliance-format md|html|json] [--out FILE] [--controls-dir DIR]

Renders an audit result (the JSON that "hardgate audit" writes) for its reader:
  text   a short human summary (default)
  md     the full report in Markdown: executive summary, findings with evidence,
         remediation backlog, framework mapping, audit metadata
  html   the same report as one self-contained HTML file (inline CSS and SVG,
         no script, no network request; prints well)
  sarif  SARIF 2.1.0 for code scanning (one rule per control)
  junit  JUnit XML for CI dashboards (one testcase per control)
  csv    the remediation backlog, one row per ticket, for ticket import
  json   the result itself, re-encoded
  compliance  the result through one framework's provisions (--framework
         etsi-en-303-645, en-18031-1, iec-62443-4-2, owasp-iot-2018 or
         nist-ir-8259a): per provision the controls that give evidence, their
         verdicts and a state; provisions hardgate cannot test are listed as
         outside this audit. --compliance-format md, html or json; without
         it, the --out extension decides (.html, .json; else md). Given a
         fleet summary (DIR/fleet.json of "hardgate audit --fleet"), the
         fleet's view: per provision, how many gateways are in each state
         and which fail it. See docs/compliance.md

Flags:
`

const reportExamples = `
Examples:
  hardgate report after.json --format html --out after.html
  hardgate report before.json --format md --out before.md
  hardgate report before.json --format sarif --out hardgate.sarif
  hardgate report before.json --format csv --out backlog.csv
  hardgate report before.json --format compliance --framework en-18031-1 --out en-18031-1.md
  hardgate report after.json --format compliance --framework etsi-en-303-645 --out etsi.html
  hardgate report after.json --format compliance --framework nist-ir-8259a --compliance-format json
  hardgate report audits/2026-05-01/fleet.json --format compliance --framework en-18031-1 --out fleet-en-18031-1.html

Exit codes: 0 written, 2 usage error or unreadable result (missing file,
truncated JSON, unsupported schema version).
`

// runReport implements "hardgate report".
func runReport(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hardgate report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "text", "output `format`: "+strings.Join(report.Formats(), ", ")+", "+formatCompliance)
	out := fs.String("out", "", "write to `FILE` instead of stdout (written whole, or not at all)")
	color := fs.String("color", "auto", "colour the text format: auto (when stdout is a terminal), always, never")
	var cf complianceFlags
	fs.StringVar(&cf.framework, "framework", "", "with --format compliance: the `framework` ("+strings.Join(catalog.FrameworkIDs(), ", ")+")")
	fs.StringVar(&cf.format, "compliance-format", "", "with --format compliance: md, html or json (default: from the --out extension, .html or .json, else md)")
	fs.StringVar(&cf.controlsDir, "controls-dir", "", controlsDirUsage)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), reportUsage)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), reportExamples)
	}
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "hardgate report: want exactly one RESULT.json, got %d arguments\n\n", len(pos))
		fs.Usage()
		return exitUsage
	}
	if !slices.Contains(report.Formats(), *format) && *format != formatCompliance {
		fmt.Fprintf(stderr, "hardgate report: --format %q: must be one of %s, %s\n", *format, strings.Join(report.Formats(), ", "), formatCompliance)
		return exitUsage
	}
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "compliance-format" })
	cf.formatFromOut(*out, explicit)
	if err := cf.check(*format); err != nil {
		fmt.Fprintf(stderr, "hardgate report: %v\n", err)
		return exitUsage
	}
	useColor, err := reportColor(*color, *out == "" && isTerminal(stdout))
	if err != nil {
		fmt.Fprintf(stderr, "hardgate report: %v\n", err)
		return exitUsage
	}
	if *format == formatCompliance {
		if data, handled, err := cf.renderFleetFile(pos[0]); handled {
			return emitReport(stdout, stderr, *out, data, err)
		}
	}
	res, err := readResult(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "hardgate report: %v\n", err)
		return exitUsage
	}
	var buf bytes.Buffer
	if *format == formatCompliance {
		data, err := cf.render(res)
		if err != nil {
			fmt.Fprintf(stderr, "hardgate report: %v\n", err)
			return exitUsage
		}
		buf.Write(data)
	} else if err := report.Render(&buf, res, *format, renderOptions(useColor)); err != nil {
		fmt.Fprintf(stderr, "hardgate report: %v\n", err)
		return exitUsage
	}
	if err := emitRendered(stdout, *out, buf.Bytes()); err != nil {
		fmt.Fprintf(stderr, "hardgate report: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// renderOptions are the report options of every command: colour, and the
// catalog's reference text for SARIF rules of controls that did not fail.
func renderOptions(color bool) report.RenderOptions {
	opts := report.RenderOptions{Color: color}
	if cat, err := catalog.Load(); err == nil {
		opts.Docs = cat.Doc
	}
	return opts
}

// reportColor resolves a --color value; auto means terminal.
func reportColor(v string, terminal bool) (bool, error) {
	switch v {
	case "auto":
		return terminal, nil
	case "always":
		return true, nil
	case "never":
		return false, nil
	}
	return false, fmt.Errorf("--color %q: must be auto, always or never", v)
}

// emitRendered writes data to the file out (whole or not at all, mode
// 0600, never through a symlink) or, when out is empty, to stdout.
func emitRendered(stdout io.Writer, out string, data []byte) error {
	if out == "" {
		_, err := stdout.Write(data)
		return err
	}
	return outfile.Write(out, data)
}
