package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"

	"github.com/hardgate/hardgate/internal/agent"
)

const agentUsage = `Usage: hardgate agent --nats URL --site NAME [--creds FILE] [--ca FILE] [--parallel N]

Runs audit jobs for one site: pulls them from the NATS JetStream work queue
(subject hardgate.jobs.<site>) that hardgate serve fills, audits each target
with the ordinary audit engine, publishes the result and acks the job only
after JetStream has stored the result. Heartbeats with version and load go
to the hardgate_agents bucket. A job names the env vars and files holding
its secrets (token_env, ca_file, ...); the agent reads them on this host.

TLS to NATS is verified against --ca (or the system roots for tls://);
plaintext nats:// to a host other than loopback is refused unless
--allow-plaintext. --creds is a NATS creds file (JWT and seed) or an NKey
user seed. SIGINT/SIGTERM stop taking jobs; running audits finish (a job
cut short goes back to the queue). See docs/agents.md.

Examples:
  hardgate agent --nats tls://nats.example.net:4222 --site plant-1 \
      --creds /etc/hardgate/agent.nk --ca /etc/hardgate/nats-ca.pem
  hardgate agent --nats nats://127.0.0.1:4222 --site lab --parallel 4

Flags:
`

func runAgent(ctx context.Context, args []string, _, stderr io.Writer) int {
	fs := flag.NewFlagSet("hardgate agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, agentUsage); fs.PrintDefaults() }
	url := fs.String("nats", "", "NATS server URL(s), nats:// or tls:// (required)")
	site := fs.String("site", "", "the site whose jobs this agent runs (required)")
	creds := fs.String("creds", "", "NATS creds file or NKey user seed")
	ca := fs.String("ca", "", "CA file (PEM) that verifies the NATS server; turns TLS on")
	parallel := fs.Int("parallel", 8, "concurrent audits")
	name := fs.String("name", defaultAgentName(), "agent name in heartbeats and results")
	allowPlain := fs.Bool("allow-plaintext", false, "allow nats:// without TLS to a non-loopback server")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if *url == "" || *site == "" {
		problems = append(problems, "--nats and --site are required")
	}
	if *site != "" && !agent.ValidName(*site) {
		problems = append(problems, fmt.Sprintf("--site %q: want 1-64 of A-Z a-z 0-9 _ -", *site))
	}
	if !agent.ValidName(*name) {
		problems = append(problems, fmt.Sprintf("--name %q: want 1-64 of A-Z a-z 0-9 _ -", *name))
	}
	if *parallel < 1 || *parallel > 1024 {
		problems = append(problems, fmt.Sprintf("--parallel %d: want 1..1024", *parallel))
	}
	if *logFormat != "text" && *logFormat != "json" {
		problems = append(problems, fmt.Sprintf("--log-format %q: want text or json", *logFormat))
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(stderr, "hardgate agent: %s\n", p)
		}
		return exitUsage
	}
	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if *logFormat == "json" {
		h = slog.NewJSONHandler(stderr, nil)
	}
	logger := slog.New(h)
	nc, err := agent.Connect(agent.ConnConfig{URL: *url, CredsFile: *creds, CAFile: *ca, AllowPlaintext: *allowPlain,
		Name: "hardgate-agent " + *site + "/" + *name, InboxPrefix: agent.InboxPrefix(*site)})
	if err != nil {
		fmt.Fprintf(stderr, "hardgate agent: %v\n", err)
		return exitUsage
	}
	defer nc.Close()
	a := &agent.Agent{Site: *site, Name: *name, Parallel: *parallel, Version: toolVersion(), Logger: logger}
	a.Audit.ToolVersion = toolVersion()
	if err := a.Run(ctx, nc); err != nil {
		fmt.Fprintf(stderr, "hardgate agent: %v\n", err)
		return exitUsage
	}
	return exitOK
}

var notNameChar = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// defaultAgentName is the host name made a valid agent name.
func defaultAgentName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "agent"
	}
	h = notNameChar.ReplaceAllString(h, "-")
	for len(h) > 0 && (h[0] == '-' || h[0] == '_') {
		h = h[1:]
	}
	if len(h) > 64 {
		h = h[:64]
	}
	if h == "" {
		return "agent"
	}
	return h
}
