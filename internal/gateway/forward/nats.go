package forward

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/queue"
)

// NATS header names set on every published batch. With JetStream the batch
// id is also the Nats-Msg-Id, so the stream drops duplicates within its
// duplicate window.
const (
	NATSHeaderBatchID = "Ingestd-Batch-Id"
	NATSHeaderDevice  = "Ingestd-Device"
	NATSHeaderRecords = "Ingestd-Records"
)

// NATS publishes each batch to a NATS server with nats.go. With
// cfg.JetStream, Deliver returns nil only after a stream acknowledged the
// message (PubAck): at-least-once. Without it, Deliver returns after a
// publish and a flush (PING/PONG) confirmed the server received it; core
// NATS does not store messages, so a batch with no subscriber at that moment
// is gone: use JetStream for durable forwarding.
//
// nats.go reconnects forever with exponential backoff and jitter; its
// reconnect buffer is disabled so that a Deliver during an outage fails at
// once and the batch stays in ingestd's queue.
type NATS struct {
	subject string
	nc      *nats.Conn
	js      jetstream.JetStream // nil without JetStream
	log     *slog.Logger
	m       *brokerMetrics
}

var (
	_ Forwarder            = (*NATS)(nil)
	_ prometheus.Collector = (*NATS)(nil)
)

// NewNATS builds the NATS forwarder. It does not wait for the server: the
// first connection is retried in the background like any reconnection. TLS
// (tls:// scheme or cfg.CAFile) is verified against cfg.CAFile or the system
// roots, TLS 1.2 minimum. A token is read from the environment variable
// cfg.TokenEnv and never sent in plaintext to a non-loopback server.
// reconnectLimit caps the wait between two connection attempts (0 is
// 10 s); New passes forward.backoff_max.
func NewNATS(cfg config.ForwardNATS, logger *slog.Logger, reconnectLimit time.Duration) (*NATS, error) {
	if reconnectLimit <= 0 {
		reconnectLimit = reconnectMax
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("forward.nats.url: must be nats://host:port or tls://host:port (got %q)", cfg.URL)
	}
	secure := false
	switch u.Scheme {
	case "nats":
	case "tls":
		secure = true
	default:
		return nil, fmt.Errorf("forward.nats.url: scheme %q is not nats or tls", u.Scheme)
	}
	if cfg.CAFile != "" {
		secure = true
	}
	if cfg.Subject == "" || strings.ContainsAny(cfg.Subject, "*> \t\r\n") {
		return nil, fmt.Errorf("forward.nats.subject: must be set and contain no wildcard or space (got %q)", cfg.Subject)
	}
	n := &NATS{subject: cfg.Subject, log: logger.With("server", u.Host), m: newBrokerMetrics("nats")}
	opts := n.options(reconnectLimit)
	if cfg.TokenEnv != "" {
		tok := os.Getenv(cfg.TokenEnv)
		if tok == "" {
			return nil, fmt.Errorf("forward.nats.token_env: environment variable %s is empty or unset", cfg.TokenEnv)
		}
		if !secure && !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("forward.nats.url: refusing to send the token from %s in plaintext to %s; use tls://", cfg.TokenEnv, u.Host)
		}
		opts = append(opts, nats.Token(tok))
	}
	if secure {
		tlsCfg, err := brokerTLS("forward.nats", cfg.CAFile, "", "")
		if err != nil {
			return nil, err
		}
		tlsCfg.ServerName = u.Hostname()
		opts = append(opts, nats.Secure(tlsCfg))
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("forward.nats: %w", err)
	}
	n.nc = nc
	if nc.IsConnected() {
		n.m.connected.Set(1)
	}
	if cfg.JetStream {
		js, err := jetstream.New(nc)
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("forward.nats: jetstream: %w", err)
		}
		n.js = js
	}
	return n, nil
}

// options are the connection options: reconnect forever with backoff
// capped at reconnectLimit, no reconnect buffer (a Deliver during an
// outage fails at once), and the connection metrics and log lines.
func (n *NATS) options(reconnectLimit time.Duration) []nats.Option {
	return []nats.Option{
		nats.Name("ingestd"),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectBufSize(-1),
		nats.Timeout(brokerAttemptTimeout),
		nats.CustomReconnectDelay(func(attempts int) time.Duration {
			return max(backoffDelay(attempts, reconnectMin, reconnectLimit, 0, rand.Int64N), reconnectMin/4)
		}),
		nats.ConnectHandler(func(*nats.Conn) {
			n.m.connected.Set(1)
			n.log.Info("nats upstream connected")
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			n.m.connected.Set(1)
			n.log.Info("nats upstream reconnected")
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			n.m.connected.Set(0)
			n.m.lost.Inc()
			n.log.Warn("nats upstream: connection lost; reconnecting with backoff", "err", err)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			n.log.Warn("nats upstream: async error", "err", err)
		}),
	}
}

// Name is "nats".
func (n *NATS) Name() string { return "nats" }

// Deliver publishes b and returns nil once JetStream acknowledged it (or,
// without JetStream, once a flush confirmed the server received it).
func (n *NATS) Deliver(ctx context.Context, b queue.Batch) error {
	ctx, cancel := context.WithTimeout(ctx, brokerAttemptTimeout)
	defer cancel()
	n.m.inFlight.Inc()
	defer n.m.inFlight.Dec()
	msg := &nats.Msg{
		Subject: strings.ReplaceAll(n.subject, "{device}", topicSafe(b.Device)),
		Data:    b.Body,
		Header: nats.Header{
			NATSHeaderBatchID: []string{b.ID},
			NATSHeaderDevice:  []string{b.Device},
			NATSHeaderRecords: []string{strconv.Itoa(b.Records)},
			"Content-Type":    []string{ContentTypeNDJSON},
		},
	}
	if n.js != nil {
		ack, err := n.js.PublishMsg(ctx, msg, jetstream.WithMsgID(b.ID))
		if err != nil {
			return fmt.Errorf("nats: jetstream publish batch %s to %s: %w (does a stream capture this subject?)", b.ID, msg.Subject, err)
		}
		if ack == nil || ack.Stream == "" {
			return fmt.Errorf("nats: batch %s: empty JetStream ack", b.ID)
		}
		return nil
	}
	if err := n.nc.PublishMsg(msg); err != nil {
		return fmt.Errorf("nats: publish batch %s to %s: %w", b.ID, msg.Subject, err)
	}
	if err := n.nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("nats: flush batch %s: %w", b.ID, err)
	}
	return nil
}

// Close drains nothing (batches not acknowledged stay queued) and closes the connection.
func (n *NATS) Close() error {
	n.nc.Close()
	return nil
}

// Describe implements prometheus.Collector.
func (n *NATS) Describe(ch chan<- *prometheus.Desc) { n.m.Describe(ch) }

// Collect implements prometheus.Collector.
func (n *NATS) Collect(ch chan<- prometheus.Metric) { n.m.Collect(ch) }
