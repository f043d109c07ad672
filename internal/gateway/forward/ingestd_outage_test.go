package forward_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hardgate/hardgate/internal/gateway/auth"
	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/forward"
	"github.com/hardgate/hardgate/internal/gateway/server"
	"github.com/hardgate/hardgate/internal/gateway/server/testcert"
	"github.com/hardgate/hardgate/internal/poll"
	"github.com/hardgate/hardgate/internal/probe/mosquitto/mosquittotest"
)

// TestIngestdForwardsToMQTTThroughBrokerOutage drives ingestd in-process
// (server.New/Start, HTTPS, bearer token, forward.kind mqtt) under
// concurrent load while Debian's Mosquitto is stopped for 2 s (20 s with
// -long) and started again: every batch that got a 202 must reach the
// subscriber. Duplicates are allowed, counted and logged.
func TestIngestdForwardsToMQTTThroughBrokerOutage(t *testing.T) {
	t.Parallel()
	b := mosquittotest.New(t, func(port int, dir string) string {
		return "listener " + strconv.Itoa(port) + " 127.0.0.1\nallow_anonymous true\n" +
			"persistence true\npersistence_location " + dir + "/\nmax_queued_messages 0\n"
	})
	b.Start()
	sink := mosquittotest.Subscribe(t, mosquittotest.SinkOptions{Addr: b.Addr(), Filter: "telemetry/#", IDProperty: forward.MQTTPropBatchID})
	// ingestd reaches the broker through a gate that opens only once the
	// subscriber is back after the restart (see mosquittotest.Gate).
	gate := mosquittotest.NewGate(t, b.Addr())
	gate.Open()
	fwd := config.Default().Forward
	fwd.Kind = "mqtt"
	fwd.MQTT.URL = "mqtt://" + gate.Addr()
	fwd.MQTT.ClientID = "ingestd-e2e"
	stop := func() { gate.Shut(); b.Stop() }
	start := func() {
		n := sink.Subscriptions()
		b.Start()
		poll.Until(t, "the subscriber to subscribe again", func() bool { return sink.Subscriptions() > n })
		gate.Open()
	}
	want, refused, reg := ingestThroughOutage(t, fwd, stop, start)
	poll.Progress(t, "every 202'd batch at the subscriber", len(want), func() int { return sink.Count(want) })
	dups := sink.Verify(t, want)
	t.Logf("ingestd → MQTT: %d batches got a 202 (%d other answers), all received by the subscriber, %d duplicates; ingestd re-sent %d acknowledged batches",
		len(want), refused, dups, resent(t, reg, len(want)))
}

// TestIngestdForwardsToNATSThroughServerOutage is the same test against an
// embedded nats-server with JetStream (forward.nats.jetstream true).
func TestIngestdForwardsToNATSThroughServerOutage(t *testing.T) {
	t.Parallel()
	ns := forward.NewNATSServer(t, true)
	ns.CreateStream(t)
	fwd := config.Default().Forward
	fwd.Kind = "nats"
	fwd.NATS.URL = ns.URL()
	fwd.NATS.JetStream = true
	want, refused, reg := ingestThroughOutage(t, fwd, ns.Stop, ns.Start)
	dups := ns.StreamDuplicates(t, want)
	// JetStream drops a repeated Nats-Msg-Id, so the stream shows no
	// duplicate; ingestd's own count shows how many it sent twice.
	t.Logf("ingestd → NATS JetStream: %d batches got a 202 (%d other answers), all in the stream, %d duplicates in the stream; ingestd re-sent %d acknowledged batches",
		len(want), refused, dups, resent(t, reg, len(want)))
}

// ingestThroughOutage runs ingestd in-process (HTTPS, bearer token) with
// fwd, posts batches from 4 clients, calls stop, waits OutageLength, calls
// start, waits until its queue has drained into the upstream, and returns
// the batches that got a 202 (id → body), the count of other answers and
// ingestd's metrics registry.
func ingestThroughOutage(t *testing.T, fwd config.Forward, stopUpstream, startUpstream func()) (map[string]string, int64, *prometheus.Registry) {
	t.Helper()
	dir := t.TempDir()
	pki, err := testcert.New(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tokens := filepath.Join(dir, "tokens")
	token, err := auth.AddToken(tokens, "sensor-1")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Listen.HTTPS = "127.0.0.1:0"
	cfg.TLS.CertFile, cfg.TLS.KeyFile = pki.CertFile, pki.KeyFile
	cfg.Auth.TokensFile = tokens
	cfg.Store.Dir = filepath.Join(dir, "store")
	cfg.Limits.RatePerDevice = 0
	cfg.Forward = fwd
	cfg.Forward.BackoffMin = config.Duration(50 * time.Millisecond)
	cfg.Forward.BackoffMax = config.Duration(time.Second)
	reg := prometheus.NewRegistry()
	srv, err := server.New(cfg, server.Options{Registerer: reg, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	tr := &http.Transport{TLSClientConfig: pki.ClientTLS()}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	url := "https://" + srv.HTTPSAddr() + server.PathIngest

	var (
		mu       sync.Mutex
		accepted = map[string]string{}
		stop     atomic.Bool
		wg       sync.WaitGroup
		seq      atomic.Int64
		refused  atomic.Int64
	)
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				n := seq.Add(1)
				body := fmt.Appendf(nil, `{"seq":%d,"temp":21.5}`, n)
				req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					t.Errorf("POST: %v", err)
					return
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					refused.Add(1)
					time.Sleep(10 * time.Millisecond)
					continue
				}
				var r server.Receipt
				if err := json.Unmarshal(data, &r); err != nil || r.BatchID == "" {
					t.Errorf("202 without a receipt: %s", data)
					return
				}
				mu.Lock()
				accepted[r.BatchID] = string(body)
				mu.Unlock()
				time.Sleep(10 * time.Millisecond) // a device's pace
			}
		})
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(accepted) }
	poll.Until(t, "some batches accepted", func() bool { return count() > 100 })
	stopUpstream()
	down, before := time.Now(), count()
	forward.HoldOutage(t, down, func() int { return count() - before })
	t.Logf("upstream down for %s while ingestd accepted %d batches", time.Since(down).Round(time.Millisecond), count()-before)
	delivered := okDeliveries(t, reg)
	startUpstream()
	// Load goes on until ingestd is delivering again.
	poll.Until(t, "deliveries to resume", func() bool {
		return gauge(t, reg, "ingestd_forward_connected") == 1 && okDeliveries(t, reg) > delivered
	})
	stop.Store(true)
	wg.Wait()

	mu.Lock()
	want := make(map[string]string, len(accepted))
	for k, v := range accepted {
		want[k] = v
	}
	mu.Unlock()
	if lost := gauge(t, reg, "ingestd_forward_connection_lost_total"); lost < 1 {
		t.Errorf("ingestd_forward_connection_lost_total = %v after an outage, want at least 1", lost)
	}
	// A batch leaves the queue only once the upstream acknowledged it.
	poll.Progress(t, "ingestd's queue to drain", len(want), func() int { return len(want) - int(gauge(t, reg, "ingestd_queue_batches")) })
	return want, refused.Load(), reg
}

// resent is the number of acknowledged deliveries beyond one per accepted
// batch (ingestd_forward_total{result="ok"} minus the batches): the
// duplicates at-least-once delivery produced, whether or not the upstream
// dropped them.
func resent(t *testing.T, reg *prometheus.Registry, batches int) int {
	t.Helper()
	return int(okDeliveries(t, reg)) - batches
}

// okDeliveries is ingestd_forward_total{result="ok"}.
func okDeliveries(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	ok := 0.0
	for _, f := range families {
		if f.GetName() != "ingestd_forward_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == forward.ResultOK {
					ok += m.GetCounter().GetValue()
				}
			}
		}
	}
	return ok
}

// gauge returns the value of the single series of a gauge or counter (-1 when absent).
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name || len(f.GetMetric()) == 0 {
			continue
		}
		m := f.GetMetric()[0]
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	return -1
}
