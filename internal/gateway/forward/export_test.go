package forward

import (
	"strings"
	"testing"
)

// Test helpers for the external test package forward_test (the ingestd
// end-to-end tests, which import the server package and so cannot live in
// package forward).

// OutageLength is 2 s, or 20 s with -long.
var OutageLength = outageLength

// HoldOutage returns once the upstream has been down for OutageLength with
// batches queued behind it.
var HoldOutage = holdOutage

// NATSServer is the embedded nats-server of nats_test.go.
type NATSServer = natsServer

// NewNATSServer starts an embedded nats-server on a loopback port.
func NewNATSServer(tb testing.TB, jetstream bool) *NATSServer { return newNATSServer(tb, jetstream) }

// URL is nats://127.0.0.1:port.
func (n *natsServer) URL() string { return n.url() }

// Start starts the server again on the same port and store.
func (n *natsServer) Start() { n.start() }

// Stop shuts the server down.
func (n *natsServer) Stop() { n.stop() }

// CreateStream makes the TELEMETRY stream on telemetry.>.
func (n *natsServer) CreateStream(tb testing.TB) { n.createStream(tb) }

// StreamDuplicates is MQTTSink.Duplicates for the TELEMETRY stream.
func (n *natsServer) StreamDuplicates(tb testing.TB, want map[string]string) int {
	tb.Helper()
	got := n.readStream(tb)
	got.mu.Lock()
	defer got.mu.Unlock()
	dups, missing := 0, 0
	for id := range want {
		g := got.got[id]
		if len(g) == 0 {
			missing++
			continue
		}
		for _, body := range g {
			if strings.TrimSpace(body) != strings.TrimSpace(want[id]) {
				tb.Errorf("batch %s stored as %q, want %q", id, body, want[id])
			}
		}
		dups += len(g) - 1
	}
	if missing > 0 {
		tb.Errorf("%d of %d batches that got a 202 are not in the stream", missing, len(want))
	}
	return dups
}
