package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/server"
	"github.com/hardgate/hardgate/internal/version"
)

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

// Default garbage collector settings (GOGC, GOMEMLIMIT).
const (
	gcPercent   = 400
	memoryLimit = 48 << 20
)

// shutdownTimeout bounds the drain of in-flight requests on SIGTERM.
const shutdownTimeout = 30 * time.Second

const usage = `ingestd: hardened telemetry ingest gateway (HTTPS + device tokens, durable store-and-forward)

Usage:
  ingestd run --config FILE                     serve until SIGTERM/SIGINT; SIGHUP reloads tokens and CRL
  ingestd check-config --config FILE            validate the config and the guardrails
  ingestd token add --config FILE --device ID [--expires WHEN]
                                                create a device token (printed once, on stdout)
  ingestd token rotate --config FILE --device ID [--overlap 24h]
                                                new token; the old ones work for the overlap only
  ingestd token list --config FILE              device, id, created, expires, last used
  ingestd token revoke --config FILE --device ID
                                                remove every token of a device (then SIGHUP)
  ingestd token migrate --config FILE --tokens FILE
                                                move legacy argon2id/bcrypt lines to sha256
  ingestd version                               print the version

Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.

Examples:
  ingestd check-config --config /etc/ingestd/ingestd.yaml
  TOKEN=$(ingestd token add --config /etc/ingestd/ingestd.yaml --device sensor-17)
  systemctl reload ingestd    # sends SIGHUP: the new token is accepted
  curl --cacert ca.pem -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
       --data '{"temperature_c":21.5}' https://127.0.0.1:8443/v1/ingest
  ingestd token revoke --config /etc/ingestd/ingestd.yaml --device sensor-17
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	case "version", "--version":
		fmt.Fprintln(stdout, "ingestd", version.Get())
		return exitOK
	case "run":
		return cmdRun(ctx, args[1:], stdout, stderr)
	case "check-config":
		return cmdCheckConfig(args[1:], stdout, stderr)
	case "token":
		return cmdToken(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "ingestd: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

// buildVersion is the release build's stamp, else the module version, else
// "(devel)" (see internal/version).
func buildVersion() string { return version.Version() }

// flags parses a subcommand's flags; it returns a non-negative exit code
// when the caller should stop (help or usage error).
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer, help string) int {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, help)
			return exitOK
		}
		fmt.Fprintf(stderr, "ingestd %s: %v\n\n%s", fs.Name(), err, help)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ingestd %s: unexpected argument %q\n\n%s", fs.Name(), fs.Arg(0), help)
		return exitUsage
	}
	return -1
}

func loadConfig(path, cmd string, stderr io.Writer) (config.Config, bool) {
	if path == "" {
		fmt.Fprintf(stderr, "ingestd %s: --config FILE is required\n", cmd)
		return config.Config{}, false
	}
	cfg, err := config.Load(path)
	if err != nil {
		printProblems(stderr, cmd, err)
		return cfg, false
	}
	return cfg, true
}

// printProblems prints each joined error on its own line.
func printProblems(w io.Writer, cmd string, err error) {
	fmt.Fprintf(w, "ingestd %s: %s\n", cmd, strings.ReplaceAll(err.Error(), "\n", "\n  "))
}

func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

const runHelp = `Usage: ingestd run --config FILE

Serves ingest until SIGTERM or SIGINT (in-flight requests are drained).
SIGHUP reloads auth.tokens_file and auth.crl_file; a broken or unsafe file
keeps the previous tokens (or list) in force.

Example:
  ingestd run --config /etc/ingestd/ingestd.yaml
`

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "config file (YAML)")
	if code := parseFlags(fs, args, stdout, stderr, runHelp); code >= 0 {
		return code
	}
	cfg, ok := loadConfig(*cfgPath, "run", stderr)
	if !ok {
		return exitUsage
	}
	logger := newLogger(cfg.Log, stderr)
	if os.Getenv("GOMEMLIMIT") == "" && os.Getenv("GOGC") == "" {
		// Collect less often than the default (the live heap is a few MiB,
		// so GC percent 100 means dozens of collections a second under
		// load), with a soft heap limit that keeps ingestd small on a
		// Raspberry Pi: the runtime collects harder as it nears it.
		// GOGC or GOMEMLIMIT in the environment leave the runtime alone.
		debug.SetGCPercent(gcPercent)
		debug.SetMemoryLimit(memoryLimit)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		// Twice as many Ps as CPUs (at least 4): the queue's committer
		// returns from each fsync needing a P, and with one P per CPU it
		// waits behind every runnable request goroutine, which stretches
		// each group commit. bench/ingestd measured +30% req/s on 2 CPUs.
		runtime.GOMAXPROCS(max(4, 2*runtime.NumCPU()))
	}
	srv, err := server.New(cfg, server.Options{Logger: logger, Version: buildVersion()})
	if err != nil {
		printProblems(stderr, "run", err)
		return exitUsage
	}
	stopProfiles := startProfiles(stderr)
	defer stopProfiles()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := srv.Start(ctx); err != nil {
		logger.Error("start failed", "err", err)
		return exitRuntime
	}
	logger.Info("ingestd started", "version", buildVersion(), "https", srv.HTTPSAddr(), "http", srv.HTTPAddr())
	code := exitOK
loop:
	for {
		select {
		case <-ctx.Done():
			logger.Info("shutting down: draining in-flight requests")
			break loop
		case <-hup:
			_ = srv.Reload() // logged; the old tokens and CRL stay in force on error
		case err := <-srv.Err():
			logger.Error("listener failed; shutting down", "err", err)
			code = exitRuntime
			break loop
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Error("shutdown", "err", err)
		return exitRuntime
	}
	return code
}

const checkHelp = `Usage: ingestd check-config --config FILE

Parses the config strictly (unknown keys are errors), validates every field,
checks the guardrails (each unsafe setting in force must be named in
guardrails.allow_unsafe), loads the TLS key pair and the tokens file.
Exit 0 when valid, 2 with every problem named by its field otherwise.

Example:
  ingestd check-config --config /etc/ingestd/ingestd.yaml
`

func cmdCheckConfig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "config file (YAML)")
	if code := parseFlags(fs, args, stdout, stderr, checkHelp); code >= 0 {
		return code
	}
	cfg, ok := loadConfig(*cfgPath, "check-config", stderr)
	if !ok {
		return exitUsage
	}
	if _, err := server.New(cfg, server.Options{Version: buildVersion()}); err != nil {
		printProblems(stderr, "check-config", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "%s: valid\n", *cfgPath)
	for _, u := range cfg.UnsafeSettings(config.StatMode) {
		fmt.Fprintf(stdout, "  allowed unsafe setting %s (%s = %q): %s\n", u.Name, u.Field, u.Value, u.Detail)
	}
	return exitOK
}
