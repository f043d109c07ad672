package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/controls"
)

const controlsUsage = `Usage: hardgate controls [--format text|json|md]

Prints the control catalog: every control's id, severity, domains and title
(text), the full metadata with remediation, verification and framework
references (json), or the controls reference of docs/controls.md (md).

Examples:
  hardgate controls
  hardgate controls --format json | jq '.controls[].id'
  hardgate controls --format md > docs/controls.md

Flags:
`

func runControls(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hardgate controls", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, controlsUsage); fs.PrintDefaults() }
	format := fs.String("format", "text", "output format: "+strings.Join(catalog.Formats, ", "))
	pos, err := parseArgs(fs, args, stderr, false)
	if err != nil {
		return parseExit(err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "hardgate controls: unexpected argument %q\n", pos[0])
		return exitUsage
	}
	cat, err := catalog.Load()
	if err == nil {
		err = controls.CheckRegistry(cat)
	}
	if err != nil {
		fmt.Fprintf(stderr, "hardgate controls: %v\n", err)
		return exitUsage
	}
	if err := cat.Write(stdout, *format); err != nil {
		fmt.Fprintf(stderr, "hardgate controls: %v\n", err)
		return exitUsage
	}
	return exitOK
}
