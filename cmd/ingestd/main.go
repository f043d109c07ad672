// Command ingestd is a hardened telemetry ingest gateway for IoT devices:
// HTTPS with device tokens by default, durable store-and-forward, and
// guardrails that refuse unsafe settings unless each is explicitly allowed.
// See docs/ingestd.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
