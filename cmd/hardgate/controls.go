package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hardgate/hardgate/internal/catalog"
)

const controlsUsage = `Usage: hardgate controls [--format text|json|md] [--controls-dir DIR]

Prints the control catalog: every control's id, severity, domains and title
(text), the full metadata with remediation, verification and framework
references (json), or the controls reference of docs/controls.md (md). With
--controls-dir, the user's own controls (custom.*) are checked and listed too.

Examples:
  hardgate controls
  hardgate controls --format json | jq '.controls[].id'
  hardgate controls --format md > docs/controls.md
  hardgate controls --controls-dir examples/custom-controls

Flags:
`

func runControls(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hardgate controls", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, controlsUsage); fs.PrintDefaults() }
	format := fs.String("format", "text", "output format: "+strings.Join(catalog.Formats, ", "))
	dir := fs.String("controls-dir", "", controlsDirUsage)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hardgate controls: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	cat, err := loadCatalog(*dir)
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
