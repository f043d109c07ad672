package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/hardgate/hardgate/internal/demo"
)

const demoUsage = `Usage: hardgate demo [--dir DIR]

Runs the worked example end to end on loopback, with nothing mocked:
  1. starts the real ingestd in the legacy state of examples/gateway-hardening/before
     (plaintext HTTP, no auth, unsafe settings silenced) and audits it;
  2. restarts it in the hardened state of examples/gateway-hardening/after with a CA
     and certificates generated into a temporary folder and a new device token,
     and audits it again (401 without the token, 202 with it, health OK);
  3. diffs the two results: the after result is the new reference baseline.
It writes before, after and delta as .json, .md and .html into DIR and exits
0 when the worked example is reproduced exactly (the figures of
examples/gateway-hardening/expected.yaml), 1 otherwise.

Examples:
  hardgate demo
  hardgate demo --dir /tmp/hardgate-demo && xdg-open /tmp/hardgate-demo/after.html

Flags:
`

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hardgate demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, demoUsage); fs.PrintDefaults() }
	dir := fs.String("dir", "hardgate-demo", "output `DIR` for the results and reports")
	pos, err := parseArgs(fs, args, stderr, false)
	if err != nil {
		return parseExit(err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "hardgate demo: unexpected argument %q\n", pos[0])
		return exitUsage
	}
	want, err := demo.WorkedExample()
	if err != nil {
		fmt.Fprintf(stderr, "hardgate demo: %v\n", err)
		return exitUsage
	}
	start := time.Now()
	fmt.Fprintln(stdout, "hardgate demo: the worked example on loopback (audit → sprint → retainer)")
	out, err := demo.Run(ctx, demo.Options{Dir: *dir, ToolVersion: toolVersion(), Out: stdout})
	if err != nil {
		fmt.Fprintf(stderr, "hardgate demo: %v\n", err)
		return exitFindings
	}
	if err := out.Check(want); err != nil {
		fmt.Fprintf(stderr, "hardgate demo: the worked example (examples/gateway-hardening/expected.yaml) was NOT reproduced:\n%v\n", err)
		return exitFindings
	}
	fmt.Fprintf(stdout, "Worked example reproduced in %.1fs: %s.\n", time.Since(start).Seconds(), out.Summary())
	return exitOK
}
