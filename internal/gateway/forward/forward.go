// Package forward delivers queued batches to an upstream with at-least-once
// semantics: a batch leaves the local queue only after the upstream
// acknowledged it.
package forward

import (
	"context"

	"github.com/hardgate/hardgate/internal/gateway/queue"
)

// Forwarder sends batches to one upstream.
type Forwarder interface {
	// Name is the upstream kind for logs and metrics ("http", "file", "mqtt", "nats").
	Name() string
	// Deliver returns nil only once the upstream has acknowledged the batch
	// (HTTP 2xx, fsync of the file sink, MQTT PUBACK, JetStream ack). Any
	// error means the batch stays queued and is retried with backoff.
	Deliver(ctx context.Context, b queue.Batch) error
	// Close releases connections.
	Close() error
}
