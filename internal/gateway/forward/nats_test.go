package forward

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/relay"
	"github.com/hardgate/hardgate/internal/gateway/server/testcert"
	"github.com/hardgate/hardgate/internal/poll"
)

// natsServer is an embedded nats-server with JetStream stored in a test
// directory, so it can be stopped and started again with its stream
// intact. Each start takes a new ephemeral port; clients reach it through
// a relay that keeps one address for the whole test and is shut while the
// server is down.
type natsServer struct {
	tb        testing.TB
	dir       string
	jetstream bool
	srv       *natsserver.Server
	relay     *relay.Relay
}

func newNATSServer(tb testing.TB, jetstream bool) *natsServer {
	tb.Helper()
	n := &natsServer{tb: tb, dir: tb.TempDir(), jetstream: jetstream, relay: relay.New(tb)}
	n.start()
	tb.Cleanup(n.stop)
	return n
}

// startNATS starts an embedded nats-server on an ephemeral loopback port
// and waits until it accepts clients.
func startNATS(tb testing.TB, opts *natsserver.Options) *natsserver.Server {
	tb.Helper()
	opts.Host, opts.Port, opts.NoSigs, opts.NoLog = "127.0.0.1", natsserver.RANDOM_PORT, true, true
	s, err := natsserver.NewServer(opts)
	if err != nil {
		tb.Fatalf("nats-server: %v", err)
	}
	s.Start()
	if !s.ReadyForConnections(20 * time.Second) {
		s.Shutdown()
		tb.Fatal("nats-server not ready within 20s")
	}
	return s
}

func (n *natsServer) start() {
	n.tb.Helper()
	n.srv = startNATS(n.tb, &natsserver.Options{JetStream: n.jetstream, StoreDir: n.dir})
	n.relay.Open(n.srv.Addr().String())
}

func (n *natsServer) stop() {
	if n.srv == nil {
		return
	}
	n.relay.Shut()
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	n.srv = nil
}

func (n *natsServer) url() string { return "nats://" + n.relay.Addr() }

// createStream makes the TELEMETRY stream on telemetry.> (file storage).
func (n *natsServer) createStream(tb testing.TB) {
	tb.Helper()
	nc, err := nats.Connect(n.url())
	if err != nil {
		tb.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "TELEMETRY", Subjects: []string{"telemetry.>"}, Storage: jetstream.FileStorage}); err != nil {
		tb.Fatal(err)
	}
}

// readStream returns every message of the TELEMETRY stream by batch id.
func (n *natsServer) readStream(tb testing.TB) *received {
	tb.Helper()
	nc, err := nats.Connect(n.url())
	if err != nil {
		tb.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), brokerDeadline)
	defer cancel()
	st, err := js.Stream(ctx, "TELEMETRY")
	if err != nil {
		tb.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	got := &received{}
	for read := uint64(0); read < info.State.Msgs; {
		batch, err := cons.Fetch(int(min(info.State.Msgs-read, 500)), jetstream.FetchMaxWait(10*time.Second))
		if err != nil {
			tb.Fatalf("read messages %d to %d: %v", read+1, info.State.Msgs, err)
		}
		n := 0
		for m := range batch.Messages() {
			got.add(m.Headers().Get(NATSHeaderBatchID), string(m.Data()))
			n++
		}
		if err := batch.Error(); err != nil {
			tb.Fatalf("read messages %d to %d: %v", read+1, info.State.Msgs, err)
		}
		if n == 0 {
			tb.Fatalf("the stream holds %d messages, but reading stopped after %d", info.State.Msgs, read)
		}
		read += uint64(n)
	}
	return got
}

func TestNATSDeliversWithJetStreamAck(t *testing.T) {
	t.Parallel()
	srv := newNATSServer(t, true)
	srv.createStream(t)
	f, err := NewNATS(config.ForwardNATS{URL: srv.url(), Subject: "telemetry.{device}", JetStream: true}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	want := map[string]string{}
	for i := range 5 {
		b := testBatch(i)
		if err := f.Deliver(ctx, b); err != nil {
			t.Fatal(err)
		}
		want[b.ID] = string(b.Body)
	}
	if d := srv.readStream(t).verify(t, want); d != 0 {
		t.Errorf("%d duplicates", d)
	}

	t.Run("a subject no stream captures is never acknowledged", func(t *testing.T) {
		g, err := NewNATS(config.ForwardNATS{URL: srv.url(), Subject: "elsewhere.{device}", JetStream: true}, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := g.Deliver(ctx, testBatch(7)); err == nil {
			t.Fatal("Deliver returned nil although no stream stored the batch")
		}
	})
}

func TestNATSPlainPublishFlushes(t *testing.T) {
	t.Parallel()
	srv := newNATSServer(t, false)
	nc, err := nats.Connect(srv.url())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("telemetry.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	f, err := NewNATS(config.ForwardNATS{URL: srv.url(), Subject: "telemetry.{device}"}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b := testBatch(1)
	if err := f.Deliver(ctx, b); err != nil {
		t.Fatal(err)
	}
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get(NATSHeaderBatchID) != b.ID || string(m.Data) != string(b.Body) || m.Subject != "telemetry.dev_1__" {
		t.Errorf("got subject %q id %q body %q", m.Subject, m.Header.Get(NATSHeaderBatchID), m.Data)
	}
}

func TestNewNATSRefusesUnsafeOrBrokenConfig(t *testing.T) {
	t.Setenv("HARDGATE_TEST_NATS_TOKEN", "tok")
	tests := []struct {
		name string
		cfg  config.ForwardNATS
		msg  string
	}{
		{"a token in plaintext to a remote server is refused", config.ForwardNATS{URL: "nats://nats.example:4222", Subject: "s", TokenEnv: "HARDGATE_TEST_NATS_TOKEN"}, "plaintext"},
		{"an unset token variable is refused", config.ForwardNATS{URL: "tls://127.0.0.1:4222", Subject: "s", TokenEnv: "HARDGATE_TEST_UNSET_VARIABLE"}, "token_env"},
		{"a wildcard subject is refused", config.ForwardNATS{URL: "nats://127.0.0.1:4222", Subject: "s.>"}, "forward.nats.subject"},
		{"an mqtt URL is refused", config.ForwardNATS{URL: "mqtt://127.0.0.1:4222", Subject: "s"}, "scheme"},
		{"a missing CA file is refused", config.ForwardNATS{URL: "tls://127.0.0.1:4222", Subject: "s", CAFile: "/nonexistent/ca.pem"}, "ca_file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewNATS(tc.cfg, nil, 0)
			if err == nil {
				f.Close()
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
}

func TestNATSSurvivesServerOutageUnderLoad(t *testing.T) {
	t.Parallel()
	srv := newNATSServer(t, true)
	srv.createStream(t)
	// Reconnection waits at most the dispatcher's backoff_max, as through New.
	f, err := NewNATS(config.ForwardNATS{URL: srv.url(), Subject: "telemetry.{device}", JetStream: true}, nil, reconnectCeiling(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	q := testQueue(t)
	startDispatch(t, q, f)
	p := startProducer(t, q, 5*time.Millisecond)

	poll.Until(t, "some batches to flow", func() bool { return p.n.Load() > 100 && q.Stats().Batches < 50 })
	srv.stop()
	down, stoppedAt := time.Now(), p.n.Load()
	holdOutage(t, down, func() int { return int(p.n.Load() - stoppedAt) })
	queued := q.Stats().Batches
	t.Logf("nats-server down for %s; %d batches accepted during the outage, %d queued", time.Since(down).Round(time.Millisecond), p.n.Load()-stoppedAt, queued)
	srv.start()
	// Load goes on until the forwarder is delivering again.
	poll.Until(t, "deliveries to resume", func() bool { return q.Stats().Batches < queued })
	p.stop()
	want := p.accepted()
	poll.Progress(t, "the queue to drain", len(want), func() int { return len(want) - int(q.Stats().Batches) })
	got := srv.readStream(t)
	dups := got.verify(t, want)
	t.Logf("NATS outage: %d batches accepted, all in the stream, %d duplicates (JetStream drops repeats of a Nats-Msg-Id)", len(want), dups)
}

func TestNATSOverVerifiedTLSWithToken(t *testing.T) {
	pki, err := testcert.New(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(pki.CertFile, pki.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	s := startNATS(t, &natsserver.Options{
		Authorization: "nats-test-token",
		TLSConfig:     &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, TLSTimeout: 5,
	})
	t.Cleanup(s.Shutdown)
	url := "tls://" + s.Addr().String()
	nc, err := nats.Connect(url, nats.Token("nats-test-token"), nats.Secure(pki.ClientTLS()))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("telemetry.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HARDGATE_TEST_NATS_TOKEN", "nats-test-token")
	t.Setenv("HARDGATE_TEST_NATS_WRONG", "wrong-token")

	tests := []struct {
		name    string
		cfg     config.ForwardNATS
		wantErr bool
	}{
		{"a batch is flushed over verified TLS with the token", config.ForwardNATS{URL: url, Subject: "telemetry.{device}", CAFile: pki.CAFile, TokenEnv: "HARDGATE_TEST_NATS_TOKEN"}, false},
		{"a wrong token never acknowledges", config.ForwardNATS{URL: url, Subject: "telemetry.{device}", CAFile: pki.CAFile, TokenEnv: "HARDGATE_TEST_NATS_WRONG"}, true},
		{"a server certificate from another CA never acknowledges", config.ForwardNATS{URL: url, Subject: "telemetry.{device}", CAFile: otherCA(t), TokenEnv: "HARDGATE_TEST_NATS_TOKEN"}, true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewNATS(tc.cfg, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			timeout := 20 * time.Second
			if tc.wantErr {
				timeout = 2 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			b := testBatch(i)
			err = f.Deliver(ctx, b)
			if tc.wantErr {
				if err == nil {
					t.Fatal("Deliver returned nil: the batch would leave the queue unacknowledged")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m, err := sub.NextMsg(10 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if m.Header.Get(NATSHeaderBatchID) != b.ID {
				t.Errorf("got batch %q, want %q", m.Header.Get(NATSHeaderBatchID), b.ID)
			}
		})
	}
}
