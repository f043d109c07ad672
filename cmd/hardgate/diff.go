package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hardgate/hardgate/internal/delta"
)

const diffUsage = `Usage: hardgate diff BEFORE.json AFTER.json [--format text|json|md|html] [--out FILE]
                     [--fail-on regression|any|none] [--allow-coverage-loss] [--allow-different-targets]
                     [--color auto|always|never]
       hardgate diff OLD/fleet.json NEW/fleet.json [--format ...] [--out FILE] [--fail-on ...]

Compares two audit results of the same gateway by control id and lists what
improved (fail → pass), what regressed (pass → fail), what lost coverage
(pass → undecided or not applicable: an audit that cannot decide, or that ran
without the token, never hides a regression), what still fails, and new and
removed controls, with the posture and risk change. The AFTER result becomes
the reference point for the next review, unless it regressed or lost
coverage; the Markdown and HTML deltas show the gate's verdict.

Given two fleet summaries (fleet.json of "hardgate audit --fleet"), it lists
per gateway improved / regressed / unchanged, gateways added and removed, and
the fleet posture before and after; each gateway is compared control by
control from the results beside each fleet.json (the same rules), or by its
summary line when a side has no result. Exit 1 on any regressed gateway.

Flags:
`

const diffExamples = `
Examples:
  hardgate diff before.json after.json
  hardgate diff before.json after.json --format html --out delta.html
  hardgate diff baseline.json candidate.json --format json --fail-on any
  hardgate diff audits/2026-04-01/fleet.json audits/2026-05-01/fleet.json --format html --out fleet-delta.html

Exit codes: 0 the gate passed, 1 the gate failed (by default: any regression),
2 usage error or results that cannot be compared (missing file, truncated JSON,
unsupported schema version, two different targets).
`

// runDiff implements "hardgate diff".
func runDiff(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hardgate diff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "text", "output `format`: "+strings.Join(delta.Formats(), ", "))
	out := fs.String("out", "", "write to `FILE` instead of stdout (written whole, or not at all)")
	failOn := fs.String("fail-on", delta.FailOnRegression, "exit 1 on: regression (a control got worse or lost coverage), any (also still failing, new failing or still undecided), none")
	allowLoss := fs.Bool("allow-coverage-loss", false, "do not fail on controls that passed before and are undecided or not applicable now")
	color := fs.String("color", "auto", "colour the text format: auto (only on a terminal, not with NO_COLOR), always, never")
	allowDifferent := fs.Bool("allow-different-targets", false, "compare results of different targets (different name or ingest host)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), diffUsage)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), diffExamples)
	}
	pos, err := parseArgs(fs, args, stderr, true)
	if err != nil {
		return parseExit(err)
	}
	if len(pos) != 2 {
		fmt.Fprintf(stderr, "hardgate diff: want BEFORE.json and AFTER.json, got %d arguments\n\n", len(pos))
		fs.Usage()
		return exitUsage
	}
	if !slices.Contains(delta.Formats(), *format) {
		fmt.Fprintf(stderr, "hardgate diff: --format %q: must be one of %s\n", *format, strings.Join(delta.Formats(), ", "))
		return exitUsage
	}
	if !slices.Contains(delta.FailOnPolicies, *failOn) {
		fmt.Fprintf(stderr, "hardgate diff: --fail-on %q: must be one of %s\n", *failOn, strings.Join(delta.FailOnPolicies, ", "))
		return exitUsage
	}
	if code, ok := diffFleets(stdout, stderr, pos, *format, *out, *failOn); ok {
		return code
	}
	useColor, err := reportColor(*color, *format == "text" && *out == "" && isTerminal(stdout))
	if err != nil {
		fmt.Fprintf(stderr, "hardgate diff: %v\n", err)
		return exitUsage
	}
	before, err := readResult(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "hardgate diff: before: %v\n", err)
		return exitUsage
	}
	after, err := readResult(pos[1])
	if err != nil {
		fmt.Fprintf(stderr, "hardgate diff: after: %v\n", err)
		return exitUsage
	}
	d, err := delta.Compare(before, after, delta.Options{AllowDifferentTargets: *allowDifferent, AllowCoverageLoss: *allowLoss})
	if err != nil {
		fmt.Fprintf(stderr, "hardgate diff: %v\n", err)
		return exitUsage
	}
	var buf bytes.Buffer
	if err := delta.Render(&buf, d, *format, delta.RenderOptions{Color: useColor, FailOn: *failOn}); err != nil {
		fmt.Fprintf(stderr, "hardgate diff: %v\n", err)
		return exitUsage
	}
	if err := emitRendered(stdout, *out, buf.Bytes()); err != nil {
		fmt.Fprintf(stderr, "hardgate diff: %v\n", err)
		return exitUsage
	}
	failed, why, err := delta.Gate(d, *failOn)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate diff: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "hardgate diff: %s\n", why)
	if failed {
		return exitFindings
	}
	return exitOK
}
