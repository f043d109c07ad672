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
	"sync"
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
	ctx, stop := interruptContext(context.Background(), os.Stderr, os.Exit)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// interruptContext returns a context that the first SIGINT or SIGTERM
// cancels, so a command winds down and still writes what it has; a second
// one calls exit(128+signal) at once, whatever the command is blocked in.
// stop releases the signals.
func interruptContext(parent context.Context, stderr io.Writer, exit func(int)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			fmt.Fprintf(stderr, "hardgate: %v: stopping (send it again to exit now)\n", s)
			cancel()
		case <-done:
			return
		}
		select {
		case s := <-sigs:
			fmt.Fprintf(stderr, "hardgate: %v again: exiting now\n", s)
			exit(128 + signalNumber(s))
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(done)
			cancel()
		})
	}
}

// signalNumber is the number of s (2 for SIGINT, 15 for SIGTERM).
func signalNumber(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return int(n)
	}
	return int(syscall.SIGINT)
}

const usage = `hardgate proves, with evidence, whether an IoT gateway's telemetry path is safe.

Usage:
  hardgate <command> [flags]

Commands:
  demo        run the worked example end to end on loopback (before → sprint → after → delta)
  audit       probe a gateway and its config; write the result JSON and a summary
  report      render a result JSON as md, html, sarif, junit, csv, text or json, or through a
              framework's provisions (--format compliance --framework en-18031-1, ...)
  diff        compare two results: improved, regressed, still failing; gate on regressions
  history     keep results in a local database and show posture over time
  serve       re-audit a fleet on a schedule: history, baselines, drift alerts, metrics, dashboard
  baseline    set or show a target's baseline (the audit later audits are compared with)
  controls    print the control catalog (text, json, md)
  waivers     check a waivers file (accepted risks with an owner and an expiry)
  agent       run a site's audit jobs from NATS JetStream (hardgate serve's site agents)
  completion  print a shell completion script: bash, zsh or fish
  version     print the version, commit and build date (also --version)

Examples:
  hardgate demo
  hardgate audit --url https://127.0.0.1:8443/v1/ingest --ca ca.pem --token-env HARDGATE_TOKEN \
      --gateway-config /etc/ingestd/ingestd.yaml --out after.json
  hardgate report after.json --format html --out after.html
  hardgate diff before.json after.json

Run "hardgate <command> --help" for the flags of a command.
Exit codes: 0 clean, 1 findings or regressions, 2 usage or config error, 3 inconclusive.
SIGINT or SIGTERM stops a command at its next step; a second one exits at once (130 or 143).
`

// commands are hardgate's commands, for suggestions.
var commands = []string{"demo", "audit", "report", "diff", "history", "serve", "baseline", "controls", "waivers", "agent", "completion", "version", "help"}

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
	case "waivers":
		return runWaivers(ctx, rest, stdout, stderr)
	case "report":
		return runReport(ctx, rest, stdout, stderr)
	case "diff":
		return runDiff(ctx, rest, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "history":
		return runHistory(ctx, rest, stdout, stderr)
	case "completion":
		return runCompletion(ctx, rest, stdout, stderr)
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "baseline":
		return runBaseline(ctx, rest, stdout, stderr)
	case "agent":
		return runAgent(ctx, rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "hardgate", version.Get())
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		unknownCommand(stderr, "hardgate", cmd, commands)
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
