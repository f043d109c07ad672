package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hardgate/hardgate/internal/audit"
	"github.com/hardgate/hardgate/internal/fleet"
	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

const fleetUsage = `Usage: hardgate audit --fleet FILE --out-dir DIR [--parallel N] [--label key=value ...]
                      [--waivers FILE [--waiver-max-days N]] [--controls-dir DIR]

Audits every gateway of a fleet file (see docs/fleet.md), at most --parallel
at a time, each under its own deadline (timeouts.audit, or --deadline), the
whole run under --fleet-deadline. A gateway that hangs or answers garbage holds
one slot until its own deadline, never longer. Ctrl-C stops new audits,
cancels the running ones and still writes the summary of what completed.

Writes into DIR (folders 0700, files 0600, each written whole or not at all):
  results/<name>.json   each gateway's ordinary result
  results/<name>.html   its HTML report
  fleet.json            the fleet summary (docs/fleet.schema.json)
  fleet.html            worst first, gateways x domains, filter by label
  fleet.md              the same in Markdown

With --waivers, every gateway's result is judged with the waivers file
(docs/waivers.md): a waiver selects gateways by their fleet name (targets)
or fleet labels (labels). Waived findings count toward no status, posture or
risk; fleet.json counts them per gateway and in total, and reports each
expired waiver and each waiver that matched nothing on any gateway (stale)
once, for the whole fleet (also on stderr).

Progress goes to stderr: a live bar on a terminal, else one line per finished
gateway. Secrets come only from the environment variables the fleet file names
(ingest.token_env, mqtt.password_env), never from the file itself.

Examples:
  export HARDGATE_TOKEN=...
  hardgate audit --fleet fleet.yaml --out-dir audits/2026-05-01
  hardgate audit --fleet fleet.yaml --out-dir audits/plant-1 --label site=plant-1 --parallel 16
  hardgate audit --fleet fleet.yaml --out-dir audits/2026-05-02 --waivers waivers.yaml --controls-dir site-controls/
  hardgate diff audits/2026-04-01/fleet.json audits/2026-05-01/fleet.json
  hardgate history add audits/2026-05-01

Exit codes: 0 every gateway PASS, 1 any gateway FAIL, 3 otherwise any gateway
not decided (inconclusive, error, cancelled or skipped), 2 usage error (bad
flags, an invalid fleet file, no gateway matching --label, an unusable DIR).

Flags:
`

type fleetFlags struct {
	file, outDir                     string
	parallel                         int
	labels                           stringList
	timeout, deadline, fleetDeadline time.Duration
	progress                         string
	selectors                        []spec.LabelSelector
	judgeFlags
}

// hasFleetFlag reports whether audit's arguments ask for a fleet audit.
func hasFleetFlag(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "fleet" {
			return true
		}
	}
	return false
}

func (f *fleetFlags) flagSet(stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hardgate audit --fleet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, fleetUsage); fs.PrintDefaults() }
	fs.StringVar(&f.file, "fleet", "", "fleet `FILE` (YAML): defaults and targets")
	fs.StringVar(&f.outDir, "out-dir", "", "write results/, fleet.json, fleet.html and fleet.md into `DIR`")
	fs.IntVar(&f.parallel, "parallel", fleet.DefaultParallel(), "audit at most `N` gateways at a time")
	fs.Var(&f.labels, "label", "keep the gateways whose label is `key=value` (repeatable: all must match)")
	fs.DurationVar(&f.timeout, "timeout", 0, "deadline per probe request for every gateway (default: the fleet file's timeouts.request)")
	fs.DurationVar(&f.deadline, "deadline", 0, "deadline per gateway (default: the fleet file's timeouts.audit)")
	fs.DurationVar(&f.fleetDeadline, "fleet-deadline", 0, "deadline for the whole fleet (default: none)")
	fs.StringVar(&f.progress, "progress", "auto", "progress on stderr: auto (a bar on a terminal, else lines), bar, lines, none")
	f.declareJudgeFlags(fs)
	return fs
}

// runFleetAudit implements "hardgate audit --fleet".
func runFleetAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var f fleetFlags
	fs := f.flagSet(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	targets, err := f.load(fs)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate audit: %v\n", err)
		return exitUsage
	}
	cat, waivers, err := f.catalogAndWaivers(time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "hardgate audit: %v\n", err)
		return exitUsage
	}
	out, err := fleet.OpenOutDir(f.outDir)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate audit: --out-dir: %v\n", err)
		return exitUsage
	}
	prog := f.newProgress(stderr, len(targets))
	var writeErrs []error
	runner := &fleet.Runner{
		Parallel: f.parallel,
		Deadline: f.fleetDeadline,
		Audit:    audit.Options{Catalog: cat, ToolVersion: toolVersion()},
		Waivers:  waivers,
		OnDone: func(o *fleet.Outcome) {
			if o.Result != nil {
				j, h, err := out.WriteResult(o.Row.Name, o.Result)
				if err != nil {
					writeErrs = append(writeErrs, err)
				}
				o.Row.ResultPath, o.Row.HTMLPath = j, h
			}
			prog.Done(o)
		},
	}
	run, err := runner.Run(ctx, targets)
	prog.Finish()
	if err != nil {
		fmt.Fprintf(stderr, "hardgate audit: %v\n", err)
		return exitUsage
	}
	if run.Interrupted != "" {
		fmt.Fprintf(stderr, "hardgate audit: stopped early (%s); writing the summary of what completed\n", run.Interrupted)
	}
	var selectors []string
	for _, sel := range f.selectors {
		selectors = append(selectors, sel.String())
	}
	sum := fleet.Summarize(run, fleet.Meta{Tool: result.Tool{Name: "hardgate", Version: toolVersion()}, FleetFile: f.file, Selectors: selectors, WaiversFile: f.waivers})
	printFleetWaivers(stderr, sum.Waivers)
	if err := out.WriteSummary(sum); err != nil {
		writeErrs = append(writeErrs, err)
	}
	if err := errors.Join(writeErrs...); err != nil {
		fmt.Fprintf(stderr, "hardgate audit: %v\n", err)
		return exitUsage
	}
	if err := report.RenderFleet(stdout, sum, "text"); err != nil {
		fmt.Fprintf(stderr, "hardgate audit: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "\nFleet report: %s (and fleet.json, fleet.md, results/)\n", filepath.Join(out.Dir(), fleet.SummaryHTML))
	return fleet.ExitCode(sum)
}

// load reads and validates the fleet file, applies --timeout and
// --deadline, and keeps the gateways that match every --label.
func (f *fleetFlags) load(fs *flag.FlagSet) ([]spec.FleetTarget, error) {
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q (flags only)", fs.Arg(0))
	case f.file == "":
		return nil, errors.New("--fleet FILE is required")
	case f.outDir == "":
		return nil, errors.New("--out-dir DIR is required with --fleet")
	case f.parallel < 1:
		return nil, fmt.Errorf("--parallel %d: must be at least 1", f.parallel)
	case f.timeout < 0 || f.deadline < 0 || f.fleetDeadline < 0:
		return nil, errors.New("--timeout, --deadline and --fleet-deadline must not be negative")
	}
	if !isProgressMode(f.progress) {
		return nil, fmt.Errorf("--progress %q: must be one of auto, bar, lines, none", f.progress)
	}
	for _, l := range f.labels {
		sel, err := spec.ParseLabelSelector(l)
		if err != nil {
			return nil, fmt.Errorf("--label: %w", err)
		}
		f.selectors = append(f.selectors, sel)
	}
	file, err := os.Open(f.file)
	if err != nil {
		return nil, fmt.Errorf("--fleet: %w", err)
	}
	defer file.Close()
	fl, err := spec.ParseFleet(file, filepath.Dir(f.file))
	if err != nil {
		return nil, fmt.Errorf("--fleet: %s: %w", f.file, err)
	}
	for i := range fl.Targets {
		t := &fl.Targets[i].Target
		if f.timeout > 0 {
			t.Timeouts.Request = spec.Duration(f.timeout)
		}
		if f.deadline > 0 {
			t.Timeouts.Audit = spec.Duration(f.deadline)
		}
	}
	if err := fl.Validate(); err != nil {
		return nil, fmt.Errorf("--fleet: %s: invalid fleet:\n%w", f.file, err)
	}
	targets := fl.Select(f.selectors)
	if len(targets) == 0 {
		return nil, fmt.Errorf("--label %s: no gateway of %s matches", strings.Join(f.labels, " "), f.file)
	}
	return targets, nil
}

func isProgressMode(m string) bool {
	return m == "auto" || m == "bar" || m == "lines" || m == "none"
}

type noProgress struct{}

func (noProgress) Done(*fleet.Outcome) {}
func (noProgress) Finish()             {}

func (f *fleetFlags) newProgress(stderr io.Writer, total int) fleet.Progress {
	switch f.progress {
	case "none":
		return noProgress{}
	case "bar":
		return fleet.NewProgress(stderr, total, true)
	case "lines":
		return fleet.NewProgress(stderr, total, false)
	}
	return fleet.NewProgress(stderr, total, isTerminal(stderr))
}
