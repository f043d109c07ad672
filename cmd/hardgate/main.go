// Command hardgate audits an IoT gateway's telemetry path, renders the
// result as reports, compares two audits and runs the worked example.
//
// Exit codes: 0 clean, 1 findings or regressions at or over the threshold,
// 2 usage or config error, 3 the audit could not decide.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hardgate/hardgate/internal/version"
)

// Exit codes.
const (
	exitOK           = 0
	exitFindings     = 1
	exitUsage        = 2
	exitInconclusive = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `hardgate proves, with evidence, whether an IoT gateway's telemetry path is safe.

Usage:
  hardgate <command> [flags]

Commands:
  demo      run the worked example end to end on loopback (before → sprint → after → delta)
  audit     probe a gateway and its config; write the result JSON and a summary
  report    render a result JSON as md, html, sarif, junit, csv, text or json
  diff      compare two results: improved, regressed, still failing; gate on regressions
  history   keep results in a local database and show posture over time
  controls  print the control catalog (text, json, md)
  agent     run a site's audit jobs from NATS JetStream (hardgate serve's site agents)
  version   print the version

Examples:
  hardgate demo
  hardgate audit --url https://127.0.0.1:8443/v1/ingest --ca ca.pem --token-env HARDGATE_TOKEN \
      --gateway-config /etc/ingestd/ingestd.yaml --out after.json
  hardgate report after.json --format html --out after.html
  hardgate diff before.json after.json

Run "hardgate <command> --help" for the flags of a command.
Exit codes: 0 clean, 1 findings or regressions, 2 usage or config error, 3 inconclusive.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "audit":
		return runAudit(ctx, rest, stdout, stderr)
	case "controls":
		return runControls(ctx, rest, stdout, stderr)
	case "report":
		return runReport(ctx, rest, stdout, stderr)
	case "diff":
		return runDiff(ctx, rest, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "history":
		return runHistory(ctx, rest, stdout, stderr)
	case "agent":
		return runAgent(ctx, rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "hardgate", version.Get())
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "hardgate: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
}

// toolVersion is the version recorded in results: the release build's
// stamp, else the module version, else "(devel)".
func toolVersion() string { return version.Version() }

// isTerminal reports whether w is a terminal that should get colour.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
