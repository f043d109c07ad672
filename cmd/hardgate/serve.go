package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/hardgate/hardgate/internal/serve"
	"github.com/hardgate/hardgate/internal/store"
)

const serveUsage = `Usage: hardgate serve --config FILE
       hardgate serve check-config --config FILE
       hardgate serve token add --tokens-file FILE --role viewer|operator --name NAME

Runs the retainer: audits every target of the fleet file on its schedule,
keeps every result in the history (SQLite, or PostgreSQL with a postgres://
URL), compares each with the target's baseline (the first PASS unless one
is set), POSTs a signed webhook alert when a target regresses, recovers or
becomes inconclusive (once per change), exports /metrics and serves a
dashboard. SIGINT/SIGTERM stop new audits; running ones get shutdown_grace
to finish, then are cancelled and marked so.

On loopback the dashboard needs no token. Any other listen address needs
tls and auth.tokens_file, or serve refuses to start. docs/serve.md has the
config reference.

Examples:
  hardgate serve check-config --config serve.yaml
  hardgate serve --config serve.yaml
  hardgate serve token add --tokens-file serve-tokens --role operator --name alice
  curl -s http://127.0.0.1:9480/metrics | grep hardgate_target_regressed

Exit codes: 0 stopped cleanly, 2 usage or config error.

Flags:
`

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "check-config":
			return serveCheckConfig(args[1:], stdout, stderr)
		case "token":
			return serveToken(args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("hardgate serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, serveUsage); fs.PrintDefaults() }
	cfgPath := fs.String("config", "", "serve config `FILE` (YAML)")
	if err := fs.Parse(args); err != nil {
		return usageExit(err)
	}
	if *cfgPath == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "hardgate serve: give --config FILE and no other argument (see --help)")
		return exitUsage
	}
	cfg, targets, err := loadServeConfig(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate serve: %v\n", err)
		return exitUsage
	}
	log := newServeLogger(cfg.Log, stderr)
	st, err := store.Open(ctx, cfg.DB)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate serve: %v\n", err)
		return exitUsage
	}
	defer st.Close()
	svc, err := serve.New(ctx, cfg, serve.Options{Targets: targets, Store: st, Logger: log, ToolVersion: toolVersion()})
	if err != nil {
		fmt.Fprintf(stderr, "hardgate serve: %v\n", err)
		return exitUsage
	}
	if n := cfg.Executor.NATS; n != nil {
		remote, err := serve.NewRemoteExecutor(ctx, n, svc)
		if err != nil {
			fmt.Fprintf(stderr, "hardgate serve: executor.nats: %v\n", err)
			return exitUsage
		}
		defer remote.Close()
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate serve: listen: %v\n", err)
		return exitUsage
	}
	scheme := "http"
	if cfg.TLS.CertFile != "" {
		scheme = "https"
	}
	log.Info("hardgate serve started", "url", scheme+"://"+ln.Addr().String()+"/", "targets", len(targets),
		"history", st.Location(), "engine", st.Engine(), "version", toolVersion())
	var wg sync.WaitGroup
	var serveErr error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() {
		if serveErr = svc.Serve(ctx, ln); serveErr != nil {
			cancel()
		}
	})
	runErr := svc.Run(ctx)
	wg.Wait()
	if err := errors.Join(serveErr, runErr); err != nil {
		fmt.Fprintf(stderr, "hardgate serve: %v\n", err)
		return exitUsage
	}
	log.Info("hardgate serve stopped")
	return exitOK
}

// loadServeConfig reads and validates the config and its fleet.
func loadServeConfig(path string) (*serve.Config, []serve.Target, error) {
	cfg, err := serve.Load(path)
	if err != nil {
		return nil, nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("%s: invalid config:\n%w", path, err)
	}
	targets, err := serve.LoadFleet(cfg.Fleet)
	if err != nil {
		return nil, nil, fmt.Errorf("fleet: %w", err)
	}
	return cfg, targets, nil
}

func newServeLogger(c serve.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

const checkConfigUsage = `Usage: hardgate serve check-config --config FILE

Checks a serve config without starting anything: the config itself
(every problem named by its field), the fleet file and each target's spec,
the dashboard's TLS key pair and tokens file, the waivers file (waivers:,
with the strict loader of "hardgate audit --waivers"), and that the webhook's
secret variable is set.

Example:
  hardgate serve check-config --config serve.yaml

Flags:
`

func serveCheckConfig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hardgate serve check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, checkConfigUsage); fs.PrintDefaults() }
	cfgPath := fs.String("config", "", "serve config `FILE` (YAML)")
	if err := fs.Parse(args); err != nil {
		return usageExit(err)
	}
	if *cfgPath == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "hardgate serve check-config: give --config FILE and no other argument")
		return exitUsage
	}
	cfg, targets, err := loadServeConfig(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate serve check-config: %v\n", err)
		return exitUsage
	}
	var problems []error
	if cfg.TLS.CertFile != "" {
		if _, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile); err != nil {
			problems = append(problems, fmt.Errorf("tls: %w", err))
		}
	}
	if cfg.Auth.TokensFile != "" {
		if err := serve.CheckTokensFile(cfg.Auth.TokensFile); err != nil {
			problems = append(problems, err)
		}
	}
	if set, err := cfg.LoadWaivers(time.Now()); err != nil {
		problems = append(problems, err)
	} else if set != nil {
		fmt.Fprintf(stdout, "%s: %d waiver(s) valid\n", cfg.Waivers, set.Len())
	}
	if w := cfg.Alerts.Webhook; w != nil && os.Getenv(w.SecretEnv) == "" {
		problems = append(problems, fmt.Errorf("alerts.webhook.secret_env: $%s is not set in this environment", w.SecretEnv))
	}
	if err := errors.Join(problems...); err != nil {
		fmt.Fprintf(stderr, "hardgate serve check-config: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "%s: ok: %d targets, listen %s, history %s\n", *cfgPath, len(targets), cfg.Listen, redactDB(cfg.DB))
	return exitOK
}

// redactDB hides a PostgreSQL URL's password.
func redactDB(db string) string {
	if !store.IsPostgres(db) {
		return db
	}
	return store.Redact(db)
}

const tokenUsage = `Usage: hardgate serve token add --tokens-file FILE --role viewer|operator --name NAME

Creates a dashboard token, appends its SHA-256 digest to the tokens file
(mode 0600) and prints the token once. A viewer reads the dashboard and
/metrics; an operator may also start audits and change baselines.

Example:
  hardgate serve token add --tokens-file serve-tokens --role viewer --name prometheus

Flags:
`

func serveToken(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprint(stderr, tokenUsage)
		return exitUsage
	}
	fs := flag.NewFlagSet("hardgate serve token add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, tokenUsage); fs.PrintDefaults() }
	file := fs.String("tokens-file", "", "the tokens `FILE` (auth.tokens_file)")
	role := fs.String("role", serve.RoleViewer, "viewer or operator")
	name := fs.String("name", "", "who the token is for (`NAME`)")
	if err := fs.Parse(args[1:]); err != nil {
		return usageExit(err)
	}
	if *file == "" || *name == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "hardgate serve token add: give --tokens-file FILE, --role and --name NAME")
		return exitUsage
	}
	token, err := serve.AddToken(*file, *role, *name)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate serve token add: %v\n", err)
		return exitUsage
	}
	fmt.Fprintln(stdout, token)
	return exitOK
}

// usageExit turns -h into exit 0 and any other flag error into exit 2.
func usageExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}
