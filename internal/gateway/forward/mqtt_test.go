package forward

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/queue"
	"github.com/hardgate/hardgate/internal/gateway/server/testcert"
	"github.com/hardgate/hardgate/internal/poll"
	"github.com/hardgate/hardgate/internal/probe/mosquitto/mosquittotest"
)

func testBatch(i int) queue.Batch {
	return queue.Batch{ID: queue.NewID(time.Now()), Device: "dev/" + strconv.Itoa(i) + "+#", Records: 1, Body: []byte(`{"i":` + strconv.Itoa(i) + "}\n")}
}

func TestMQTTDeliversOverVerifiedTLS(t *testing.T) {
	pki, err := testcert.New(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pki.ClientCert("ingestd", time.Now()); err != nil {
		t.Fatal(err)
	}
	clientCert, clientKey := pki.Dir+"/client-ingestd.pem", pki.Dir+"/client-ingestd-key.pem"
	if _, err := pki.ClientCert("sink", time.Now()); err != nil {
		t.Fatal(err)
	}
	mtlsPort := mosquittotest.FreePort(t)
	b := mosquittotest.New(t, func(port int, dir string) string {
		tlsFiles := "cafile " + pki.CAFile + "\ncertfile " + pki.CertFile + "\nkeyfile " + pki.KeyFile + "\n"
		return "per_listener_settings true\n" +
			"listener " + strconv.Itoa(port) + " 127.0.0.1\n" + tlsFiles +
			"require_certificate false\npassword_file " + dir + "/passwd\n" +
			"listener " + strconv.Itoa(mtlsPort) + " 127.0.0.1\n" + tlsFiles +
			"require_certificate true\nuse_identity_as_username true\n"
	})
	mosquittotest.WritePasswordFile(t, b, "passwd", "ingestd", "forward-secret")
	b.Start()
	sinkTLS := pki.ClientTLS()
	sink := mosquittotest.Subscribe(t, mosquittotest.SinkOptions{Addr: b.Addr(), TLS: sinkTLS, Username: "ingestd", Password: "forward-secret", Filter: "telemetry/#", IDProperty: MQTTPropBatchID})
	t.Setenv("HARDGATE_TEST_MQTT_PASSWORD", "forward-secret")

	tests := []struct {
		name    string
		cfg     config.ForwardMQTT
		wantErr bool
	}{
		{"a batch is acknowledged after the broker's PUBACK with username and password over verified TLS",
			config.ForwardMQTT{URL: b.URL(true), Topic: "telemetry/{device}", ClientID: "ingestd-1", Username: "ingestd", PasswordEnv: "HARDGATE_TEST_MQTT_PASSWORD", CAFile: pki.CAFile}, false},
		{"a wrong password never acknowledges",
			config.ForwardMQTT{URL: b.URL(true), Topic: "telemetry/{device}", ClientID: "ingestd-2", Username: "ingestd", PasswordEnv: "HARDGATE_TEST_MQTT_WRONG", CAFile: pki.CAFile}, true},
		{"a broker certificate from another CA never acknowledges",
			config.ForwardMQTT{URL: b.URL(true), Topic: "telemetry/{device}", ClientID: "ingestd-3", Username: "ingestd", PasswordEnv: "HARDGATE_TEST_MQTT_PASSWORD", CAFile: otherCA(t)}, true},
	}
	t.Setenv("HARDGATE_TEST_MQTT_WRONG", "not-the-password")
	// The subtests run in parallel: the environment is set once above and
	// stays until every one of them has finished.
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := NewMQTT(tc.cfg, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			batch := testBatch(i)
			timeout := 20 * time.Second
			if tc.wantErr {
				timeout = 2 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			err = f.Deliver(ctx, batch)
			if tc.wantErr {
				if err == nil {
					t.Fatal("Deliver returned nil: a batch would leave the queue unacknowledged")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{batch.ID: string(batch.Body)}
			poll.Until(t, "the subscriber to receive the batch", func() bool { return sink.Has(want) })
			if d := sink.Verify(t, want); d != 0 {
				t.Errorf("%d duplicates of a single delivery", d)
			}
		})
	}
	mtlsURL := "mqtts://127.0.0.1:" + strconv.Itoa(mtlsPort)
	t.Run("a client certificate authenticates ingestd on a listener that requires one", func(t *testing.T) {
		t.Parallel()
		f, err := NewMQTT(config.ForwardMQTT{URL: mtlsURL, Topic: "telemetry/{device}", ClientID: "ingestd-4",
			CAFile: pki.CAFile, CertFile: clientCert, KeyFile: clientKey}, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		batch := testBatch(9)
		if err := f.Deliver(ctx, batch); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{batch.ID: string(batch.Body)}
		poll.Until(t, "the subscriber to receive the batch", func() bool { return sink.Has(want) })
	})
	t.Run("without a client certificate that listener never acknowledges", func(t *testing.T) {
		t.Parallel()
		f, err := NewMQTT(config.ForwardMQTT{URL: mtlsURL, Topic: "telemetry/{device}", ClientID: "ingestd-5", CAFile: pki.CAFile}, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := f.Deliver(ctx, testBatch(10)); err == nil {
			t.Fatal("Deliver returned nil without a client certificate")
		}
	})
}

func otherCA(t *testing.T) string {
	t.Helper()
	other, err := testcert.New(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return other.CAFile
}

func TestNewMQTTRefusesUnsafeOrBrokenConfig(t *testing.T) {
	t.Setenv("HARDGATE_TEST_MQTT_PW", "pw")
	tests := []struct {
		name string
		cfg  config.ForwardMQTT
		msg  string
	}{
		{"a password in plaintext to a remote broker is refused", config.ForwardMQTT{URL: "mqtt://broker.example:1883", Topic: "t", PasswordEnv: "HARDGATE_TEST_MQTT_PW"}, "plaintext"},
		{"an unset password variable is refused", config.ForwardMQTT{URL: "mqtts://127.0.0.1:8883", Topic: "t", PasswordEnv: "HARDGATE_TEST_UNSET_VARIABLE"}, "password_env"},
		{"a wildcard topic is refused", config.ForwardMQTT{URL: "mqtt://127.0.0.1:1883", Topic: "t/#"}, "forward.mqtt.topic"},
		{"an http URL is refused", config.ForwardMQTT{URL: "http://127.0.0.1:1883", Topic: "t"}, "scheme"},
		{"a CA file with a plaintext scheme is refused", config.ForwardMQTT{URL: "mqtt://127.0.0.1:1883", Topic: "t", CAFile: "/x.pem"}, "mqtts"},
		{"a certificate without its key is refused", config.ForwardMQTT{URL: "mqtts://127.0.0.1:8883", Topic: "t", CertFile: "/c.pem"}, "key_file"},
		{"a missing CA file is refused", config.ForwardMQTT{URL: "mqtts://127.0.0.1:8883", Topic: "t", CAFile: "/nonexistent/ca.pem"}, "ca_file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewMQTT(tc.cfg, nil, 0)
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

func TestMQTTSurvivesBrokerOutageUnderLoad(t *testing.T) {
	t.Parallel()
	b := mosquittotest.New(t, func(port int, dir string) string {
		return "listener " + strconv.Itoa(port) + " 127.0.0.1\nallow_anonymous true\n" +
			"persistence true\npersistence_location " + dir + "/\nmax_queued_messages 0\nmax_inflight_messages 0\n"
	})
	b.Start()
	sink := mosquittotest.Subscribe(t, mosquittotest.SinkOptions{Addr: b.Addr(), Filter: "telemetry/#", IDProperty: MQTTPropBatchID})
	// The forwarder reaches the broker through a gate that opens only once
	// the subscriber is back after the restart (see mosquittotest.Gate).
	gate := mosquittotest.NewGate(t, b.Addr())
	gate.Open()
	// Reconnection waits at most the dispatcher's backoff_max, as through New.
	f, err := NewMQTT(config.ForwardMQTT{URL: "mqtt://" + gate.Addr(), Topic: "telemetry/{device}", ClientID: "ingestd-outage"}, nil, reconnectCeiling(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	q := testQueue(t)
	startDispatch(t, q, f)
	p := startProducer(t, q, 5*time.Millisecond)

	poll.Until(t, "some batches to flow", func() bool { return p.n.Load() > 100 && q.Stats().Batches < 50 })
	gate.Shut()
	b.Stop()
	down, stoppedAt := time.Now(), p.n.Load()
	holdOutage(t, down, func() int { return int(p.n.Load() - stoppedAt) })
	queued := q.Stats().Batches
	t.Logf("broker down for %s; %d batches accepted during the outage, %d queued", time.Since(down).Round(time.Millisecond), p.n.Load()-stoppedAt, queued)
	subs := sink.Subscriptions()
	b.Start()
	poll.Until(t, "the subscriber to subscribe again", func() bool { return sink.Subscriptions() > subs })
	gate.Open()
	// Load goes on until the forwarder is delivering again.
	poll.Until(t, "deliveries to resume", func() bool { return q.Stats().Batches < queued })
	p.stop()
	want := p.accepted()
	poll.Progress(t, "the queue to drain", len(want), func() int { return len(want) - int(q.Stats().Batches) })
	poll.Progress(t, "the subscriber to receive every accepted batch", len(want), func() int { return sink.Count(want) })
	dups := sink.Verify(t, want)
	t.Logf("MQTT outage: %d batches accepted, all received, %d duplicates", len(want), dups)
}

// TestMQTTDeliveryFailsWhenTheConnectionDropsBeforeThePUBACK uses a broker
// that accepts the connection, reads one PUBLISH and hangs up without a
// PUBACK: the delivery must fail as soon as the connection is gone, not
// after the attempt's 10 s timeout (the new connection would never
// receive that PUBACK).
func TestMQTTDeliveryFailsWhenTheConnectionDropsBeforeThePUBACK(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	published := make(chan struct{}, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for {
					p, err := packets.ReadPacket(c)
					if err != nil {
						return
					}
					switch p.Type {
					case packets.CONNECT:
						if _, err := packets.NewControlPacket(packets.CONNACK).WriteTo(c); err != nil {
							return
						}
					case packets.PUBLISH:
						published <- struct{}{}
						return // hang up, no PUBACK
					}
				}
			}()
		}
	}()
	f, err := NewMQTT(config.ForwardMQTT{URL: "mqtt://" + ln.Addr().String(), Topic: "telemetry/{device}", ClientID: "ingestd-drop"}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	err = f.Deliver(context.Background(), testBatch(1))
	elapsed := time.Since(start)
	select {
	case <-published:
	default:
		t.Fatalf("the broker never saw the PUBLISH (Deliver: %v)", err)
	}
	if err == nil {
		t.Fatal("Deliver returned nil without a PUBACK")
	}
	if !strings.Contains(err.Error(), "connection lost before the PUBACK") || elapsed > brokerAttemptTimeout/2 {
		t.Fatalf("Deliver failed after %s with %v, want a lost connection reported at once", elapsed, err)
	}
}
