package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

const waiversUsage = `Usage: hardgate waivers check FILE [--controls-dir DIR] [--waiver-max-days N]

Checks a waivers file as "hardgate audit --waivers" would (strict YAML, every
field, controls of the catalog, expiry dates at most --waiver-max-days ahead)
and lists each waiver with what it selects and whether it is active today.
See docs/waivers.md.

Examples:
  hardgate waivers check waivers.yaml
  hardgate waivers check waivers.yaml --controls-dir site-controls/

Exit codes: 0 the file is valid, 2 it is not (every problem is printed).

Flags:
`

func runWaivers(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hardgate waivers check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, waiversUsage); fs.PrintDefaults() }
	var j judgeFlags
	fs.StringVar(&j.controlsDir, "controls-dir", "", controlsDirUsage)
	fs.IntVar(&j.waiverMaxDays, "waiver-max-days", 365, "refuse an expiry date more than this many `days` ahead")
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fs.Usage()
		return exitOK
	}
	if len(args) == 0 || args[0] != "check" {
		fs.Usage()
		return exitUsage
	}
	pos, err := parseInterleaved(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "hardgate waivers check: want exactly one FILE, got %d arguments\n", len(pos))
		return exitUsage
	}
	j.waivers = pos[0]
	now := time.Now()
	_, set, err := j.catalogAndWaivers(now)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate waivers check: %v\n", err)
		return exitUsage
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LINE\tCONTROL\tSELECTS\tEXPIRES\tSTATE\tOWNER")
	for i, u := range set.Waivers() {
		w := u.Waiver
		sel := strings.Join(w.Targets, ",")
		for _, k := range slices.Sorted(maps.Keys(w.Labels)) {
			sel = strings.TrimPrefix(sel+","+k+"="+w.Labels[k], ",")
		}
		state := "active"
		if set.ExpiredAt(i, now) {
			state = "EXPIRED"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", u.Line, w.Control, sel, w.Expires, state, w.Owner)
	}
	if err := tw.Flush(); err != nil {
		return exitUsage
	}
	fmt.Fprintf(stdout, "%s: %d waiver(s), valid\n", j.waivers, set.Len())
	return exitOK
}
