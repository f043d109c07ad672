package forward

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/queue"
)

// MQTT user properties set on every published batch (MQTT 5), so that a
// consumer can drop the duplicates at-least-once delivery produces.
const (
	MQTTPropBatchID = "batch_id"
	MQTTPropDevice  = "device"
	MQTTPropRecords = "records"
)

// Connection and delivery bounds of the broker forwarders.
const (
	// brokerAttemptTimeout bounds one Deliver: waiting for the connection,
	// sending, and the PUBACK or JetStream ack.
	brokerAttemptTimeout = 10 * time.Second
	reconnectMin         = 250 * time.Millisecond
	reconnectMax         = 10 * time.Second
)

// reconnectCeiling is the longest wait between two connection attempts to
// a broker: reconnectMax, or forward.backoff_max when that is shorter
// (backoff_max caps every retry delay), never below reconnectMin.
func reconnectCeiling(backoffMax time.Duration) time.Duration {
	if backoffMax <= 0 {
		return reconnectMax
	}
	return max(min(backoffMax, reconnectMax), reconnectMin)
}

// MQTT publishes each batch at QoS 1 to an MQTT 5 broker with paho.golang's
// client. A background loop keeps one connection up and reconnects with
// exponential backoff and jitter. Deliver returns nil only after the
// broker's PUBACK with a success code; the number of unacknowledged
// PUBLISH packets is bounded by the dispatcher's in-flight window and by
// the broker's Receive Maximum, which paho's session enforces.
//
// autopaho is not used: it pulls in gorilla/websocket and x/net for
// websocket transports that ingestd does not need.
type MQTT struct {
	topic   string
	broker  string
	dial    func(ctx context.Context) (net.Conn, error)
	connect *paho.Connect
	log     *slog.Logger
	m       *brokerMetrics
	// reconnectMax caps the wait between two connection attempts.
	reconnectMax time.Duration

	ctx  context.Context
	stop context.CancelFunc
	done chan struct{}

	mu  sync.Mutex
	cli *paho.Client  // nil while disconnected
	up  chan struct{} // closed while cli != nil
}

var (
	_ Forwarder            = (*MQTT)(nil)
	_ prometheus.Collector = (*MQTT)(nil)
)

// NewMQTT builds the MQTT forwarder and starts connecting in the
// background; it does not wait for the broker, so ingestd starts while the
// broker is down. TLS (mqtts, ssl, tls schemes) is verified against
// cfg.CAFile or the system roots, TLS 1.2 minimum, with an optional client
// certificate. The password is read from the environment variable
// cfg.PasswordEnv and is never sent in plaintext to a non-loopback broker.
// reconnectLimit caps the wait between two connection attempts (0 is
// 10 s); New passes forward.backoff_max.
func NewMQTT(cfg config.ForwardMQTT, logger *slog.Logger, reconnectLimit time.Duration) (*MQTT, error) {
	if reconnectLimit <= 0 {
		reconnectLimit = reconnectMax
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("forward.mqtt.url: must be mqtt://host:port or mqtts://host:port (got %q)", cfg.URL)
	}
	secure := false
	switch u.Scheme {
	case "mqtt", "tcp":
	case "mqtts", "ssl", "tls":
		secure = true
	default:
		return nil, fmt.Errorf("forward.mqtt.url: scheme %q is not mqtt or mqtts", u.Scheme)
	}
	if cfg.Topic == "" || strings.ContainsAny(cfg.Topic, "#+\x00") {
		return nil, fmt.Errorf("forward.mqtt.topic: must be set and contain no wildcard (got %q)", cfg.Topic)
	}
	clientID := cfg.ClientID
	if clientID == "" {
		clientID = "ingestd"
	}
	conn := &paho.Connect{KeepAlive: 20, ClientID: clientID, CleanStart: true}
	if cfg.Username != "" {
		conn.UsernameFlag, conn.Username = true, cfg.Username
	}
	if cfg.PasswordEnv != "" {
		pw := os.Getenv(cfg.PasswordEnv)
		if pw == "" {
			return nil, fmt.Errorf("forward.mqtt.password_env: environment variable %s is empty or unset", cfg.PasswordEnv)
		}
		if !secure && !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("forward.mqtt.url: refusing to send the password from %s in plaintext to %s; use mqtts", cfg.PasswordEnv, u.Host)
		}
		conn.PasswordFlag, conn.Password = true, []byte(pw)
	}
	if !secure && (cfg.CertFile != "" || cfg.CAFile != "") {
		return nil, fmt.Errorf("forward.mqtt.url: ca_file or cert_file is set but the scheme %q does not use TLS; use mqtts", u.Scheme)
	}
	tlsCfg, err := brokerTLS("forward.mqtt", cfg.CAFile, cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), map[bool]string{false: "1883", true: "8883"}[secure])
	}
	tlsCfg.ServerName = u.Hostname()
	m := &MQTT{topic: cfg.Topic, broker: addr, connect: conn, log: logger.With("broker", addr), reconnectMax: reconnectLimit,
		m: newBrokerMetrics("mqtt"), done: make(chan struct{}), up: make(chan struct{})}
	m.dial = func(ctx context.Context) (net.Conn, error) {
		if secure {
			d := &tls.Dialer{Config: tlsCfg}
			return d.DialContext(ctx, "tcp", addr)
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
	m.ctx, m.stop = context.WithCancel(context.Background())
	go m.run()
	return m, nil
}

// run keeps a connection up until Close.
func (m *MQTT) run() {
	defer close(m.done)
	attempt := 0
	for m.ctx.Err() == nil {
		cli, err := m.connectOnce()
		if err != nil {
			attempt++
			delay := max(backoffDelay(attempt, reconnectMin, m.reconnectMax, 0, rand.Int64N), reconnectMin/4)
			m.log.Warn("mqtt upstream: connect failed; retrying with backoff", "err", err, "attempt", attempt, "retry_in", delay)
			if !sleep(m.ctx, delay) {
				return
			}
			continue
		}
		attempt = 0
		m.mu.Lock()
		m.cli = cli
		close(m.up)
		m.mu.Unlock()
		m.m.connected.Set(1)
		m.log.Info("mqtt upstream connected")
		select {
		case <-cli.Done():
		case <-m.ctx.Done():
			_ = cli.Disconnect(&paho.Disconnect{ReasonCode: 0})
			<-cli.Done()
		}
		m.mu.Lock()
		m.cli = nil
		m.up = make(chan struct{})
		m.mu.Unlock()
		m.m.connected.Set(0)
		if m.ctx.Err() == nil {
			m.m.lost.Inc()
			m.log.Warn("mqtt upstream: connection lost; reconnecting")
			// A pause before reconnecting, so that two clients with the same
			// client_id taking the session from each other cannot spin.
			if !sleep(m.ctx, reconnectMin) {
				return
			}
		}
	}
}

func (m *MQTT) connectOnce() (*paho.Client, error) {
	ctx, cancel := context.WithTimeout(m.ctx, brokerAttemptTimeout)
	defer cancel()
	conn, err := m.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	cli := paho.NewClient(paho.ClientConfig{
		ClientID:      m.connect.ClientID,
		Conn:          packets.NewThreadSafeConn(conn),
		PacketTimeout: brokerAttemptTimeout,
		OnClientError: func(err error) { m.log.Debug("mqtt upstream: client error", "err", err) },
		OnServerDisconnect: func(d *paho.Disconnect) {
			m.log.Warn("mqtt upstream: the broker disconnected us", "reason", d.ReasonCode)
		},
	})
	ca, err := cli.Connect(ctx, m.connect)
	if err != nil {
		conn.Close()
		if ca != nil {
			return nil, fmt.Errorf("CONNACK reason 0x%02x: %w", ca.ReasonCode, err)
		}
		return nil, err
	}
	return cli, nil
}

// client waits for the connection (bounded by ctx).
func (m *MQTT) client(ctx context.Context) (*paho.Client, error) {
	for {
		m.mu.Lock()
		cli, up := m.cli, m.up
		m.mu.Unlock()
		if cli != nil {
			return cli, nil
		}
		select {
		case <-up:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-m.done:
			return nil, errors.New("forwarder closed")
		}
	}
}

// Name is "mqtt".
func (m *MQTT) Name() string { return "mqtt" }

// Deliver publishes b at QoS 1 and returns nil once the broker sent a
// PUBACK with a success reason code.
func (m *MQTT) Deliver(ctx context.Context, b queue.Batch) error {
	ctx, cancel := context.WithTimeout(ctx, brokerAttemptTimeout)
	defer cancel()
	m.m.inFlight.Inc()
	defer m.m.inFlight.Dec()
	cli, err := m.client(ctx)
	if err != nil {
		return fmt.Errorf("mqtt: batch %s: broker %s not connected: %w", b.ID, m.broker, err)
	}
	p := &paho.Publish{
		QoS:     1,
		Topic:   strings.ReplaceAll(m.topic, "{device}", topicSafe(b.Device)),
		Payload: b.Body,
		Properties: &paho.PublishProperties{
			ContentType: ContentTypeNDJSON,
			User: paho.UserProperties{
				{Key: MQTTPropBatchID, Value: b.ID},
				{Key: MQTTPropDevice, Value: b.Device},
				{Key: MQTTPropRecords, Value: strconv.Itoa(b.Records)},
			},
		},
	}
	// A connection lost while the PUBACK is awaited fails the attempt at
	// once: the new connection would never receive that PUBACK.
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-cli.Done():
			stop()
		case <-pctx.Done():
		}
	}()
	pr, err := cli.Publish(pctx, p)
	if err != nil {
		select {
		case <-cli.Done():
			return fmt.Errorf("mqtt: publish batch %s to %s: connection lost before the PUBACK: %w", b.ID, p.Topic, err)
		default:
		}
		return fmt.Errorf("mqtt: publish batch %s to %s: %w", b.ID, p.Topic, err)
	}
	if pr == nil {
		return fmt.Errorf("mqtt: publish batch %s: no PUBACK", b.ID)
	}
	if pr.ReasonCode >= 0x80 {
		return fmt.Errorf("mqtt: publish batch %s: broker refused with reason 0x%02x", b.ID, pr.ReasonCode)
	}
	return nil
}

// Close disconnects from the broker and stops reconnecting.
func (m *MQTT) Close() error {
	m.stop()
	<-m.done
	return nil
}

// Describe implements prometheus.Collector.
func (m *MQTT) Describe(ch chan<- *prometheus.Desc) { m.m.Describe(ch) }

// Collect implements prometheus.Collector.
func (m *MQTT) Collect(ch chan<- prometheus.Metric) { m.m.Collect(ch) }

// topicSafe makes a device id one MQTT topic level without wildcards.
func topicSafe(device string) string {
	if device == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '/', '+', '#', 0, '.', '*', '>', ' ':
			return '_'
		}
		return r
	}, device)
}

// brokerTLS builds the client TLS config of a broker forwarder: TLS 1.2
// minimum, verified against caFile (or the system roots), with an optional
// client certificate.
func brokerTLS(field, caFile, certFile, keyFile string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("%s.ca_file: %w", field, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s.ca_file: no PEM certificate in %s", field, caFile)
		}
		c.RootCAs = pool
	}
	if (certFile == "") != (keyFile == "") {
		return nil, fmt.Errorf("%s.cert_file and %s.key_file: set both or neither", field, field)
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("%s.cert_file: %w", field, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// brokerMetrics are the connection metrics of a broker forwarder. The
// forwarder is a prometheus.Collector; ingestd registers it next to the
// dispatcher's metrics.
type brokerMetrics struct {
	connected prometheus.Gauge
	lost      prometheus.Counter
	inFlight  prometheus.Gauge
}

func newBrokerMetrics(upstream string) *brokerMetrics {
	labels := prometheus.Labels{"upstream": upstream}
	return &brokerMetrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ingestd_forward_connected", Help: "1 while the broker connection is up.", ConstLabels: labels,
		}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ingestd_forward_connection_lost_total", Help: "Broker connections lost (each followed by reconnection with backoff).", ConstLabels: labels,
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ingestd_forward_in_flight", Help: "Batches sent to the broker and not yet acknowledged.", ConstLabels: labels,
		}),
	}
}

func (b *brokerMetrics) Describe(ch chan<- *prometheus.Desc) {
	b.connected.Describe(ch)
	b.lost.Describe(ch)
	b.inFlight.Describe(ch)
}

func (b *brokerMetrics) Collect(ch chan<- prometheus.Metric) {
	b.connected.Collect(ch)
	b.lost.Collect(ch)
	b.inFlight.Collect(ch)
}
