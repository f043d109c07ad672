package agent

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hardgate/hardgate/internal/audit"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

// embedded is an embedded JetStream server whose store outlives restarts
// and whose port stays the same, so clients reconnect.
type embedded struct {
	tb   testing.TB
	dir  string
	port int
	srv  *natsserver.Server
}

func startEmbedded(tb testing.TB) *embedded {
	tb.Helper()
	e := &embedded{tb: tb, dir: tb.TempDir(), port: natsserver.RANDOM_PORT}
	e.start()
	tb.Cleanup(e.stop)
	return e
}

func (e *embedded) start() {
	e.tb.Helper()
	opts := &natsserver.Options{Host: "127.0.0.1", Port: e.port, NoSigs: true, NoLog: true,
		JetStream: true, StoreDir: e.dir, MaxPayload: 8 << 20}
	s, err := natsserver.NewServer(opts)
	if err != nil {
		e.tb.Fatalf("nats-server: %v", err)
	}
	s.Start()
	if !s.ReadyForConnections(20 * time.Second) {
		s.Shutdown()
		e.tb.Fatal("nats-server not ready within 20s")
	}
	e.srv = s
	e.port = s.Addr().(*net.TCPAddr).Port
}

func (e *embedded) stop() {
	if e.srv != nil {
		e.srv.Shutdown()
		e.srv.WaitForShutdown()
		e.srv = nil
	}
}

func (e *embedded) url() string { return e.srv.ClientURL() }

// connect connects to the server with the ordinary options.
func connect(tb testing.TB, url, site string) *nats.Conn {
	tb.Helper()
	nc, err := Connect(ConnConfig{URL: url, Name: "test", InboxPrefix: inboxFor(site)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	return nc
}

func inboxFor(site string) string {
	if site == "" {
		return ""
	}
	return InboxPrefix(site)
}

func jetStream(tb testing.TB, nc *nats.Conn) jetstream.JetStream {
	tb.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	return js
}

// collector is a dispatcher's store: results by audit id, with how many
// times each was handed over and stored.
type collector struct {
	mu      sync.Mutex
	stored  map[string]*ResultMsg
	handed  map[string]int
	dead    []*DeadLetter
	failFor int // fail the first failFor calls
}

func newCollector() *collector {
	return &collector{stored: map[string]*ResultMsg{}, handed: map[string]int{}}
}

func (c *collector) onResult(_ context.Context, rm *ResultMsg) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.handed[rm.AuditID]++
	if c.failFor > 0 {
		c.failFor--
		return errTestStore
	}
	if _, ok := c.stored[rm.AuditID]; !ok {
		c.stored[rm.AuditID] = rm
	}
	return nil
}

func (c *collector) onDead(_ context.Context, d *DeadLetter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dead = append(c.dead, d)
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.stored)
}

// startDispatcher provisions the topology and consumes results into c.
func startDispatcher(tb testing.TB, url string, topo Topology, c *collector) *Dispatcher {
	tb.Helper()
	nc := connect(tb, url, "")
	d := &Dispatcher{JS: jetStream(tb, nc), Topology: topo, OnResult: c.onResult, OnDead: c.onDead,
		Logger: testLogger(tb)}
	if err := d.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(d.Stop)
	return d
}

// runAgent runs an agent until the test ends or its stop is called.
func runAgent(tb testing.TB, url string, a *Agent) (stop func()) {
	tb.Helper()
	nc := connect(tb, url, a.Site)
	if a.Logger == nil {
		a.Logger = testLogger(tb)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, nc) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				tb.Errorf("agent %s: %v", a.Name, err)
			}
		})
	}
	tb.Cleanup(stop)
	return stop
}

func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) { w.tb.Log(string(p)); return len(p), nil }

// fakeAudit answers every target with a minimal valid result.
func fakeAudit(_ context.Context, t *spec.Target, opts audit.Options) (*result.Result, error) {
	return fakeResult(opts.NewID(), t.Name), nil
}

func fakeResult(auditID, name string) *result.Result {
	res := reporttest.WorkedExampleAfter()
	res.AuditID, res.Target.Name = auditID, name
	return res
}

var errTestStore = errors.New("store unavailable")

// target is a minimal valid target spec.
func target(name string) *spec.Target {
	t := spec.Default()
	t.Name = name
	t.Ingest.URLs = []string{"https://127.0.0.1:1/v1/ingest"}
	t.Complete()
	return &t
}

func jetstreamMsgID(id string) jetstream.PublishOpt { return jetstream.WithMsgID(id) }
