// Package mqtt_test checks that the MQTT example configs parse, that the
// broker config passes the mosquitto guardrails' facts, and that auditing
// the example broker gives what target.yaml says it gives.
package mqtt_test

import (
	"context"
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/hardgate/hardgate/internal/audit"
	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/server/testcert"
	"github.com/hardgate/hardgate/internal/interop"
	"github.com/hardgate/hardgate/internal/probe/mosquitto"
	"github.com/hardgate/hardgate/internal/probe/mosquitto/mosquittotest"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

func TestExampleConfigsAreValid(t *testing.T) {
	t.Run("the ingestd config forwards over mqtts on loopback", func(t *testing.T) {
		f, err := os.Open("ingestd.yaml")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cfg, err := config.Parse(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		if cfg.Forward.Kind != "mqtt" || cfg.Forward.MQTT.URL != "mqtts://127.0.0.1:8883" {
			t.Errorf("forward = %+v", cfg.Forward)
		}
	})
	t.Run("the broker config has one TLS loopback listener, no anonymous access, passwords and an ACL", func(t *testing.T) {
		c, err := mosquitto.Load("mosquitto.conf")
		if err != nil {
			t.Fatal(err)
		}
		ps := c.Postures()
		if len(ps) != 1 {
			t.Fatalf("%d listeners", len(ps))
		}
		p := ps[0]
		if p.AnonymousAllowed || !p.TLS() || !p.Listener.Loopback() || p.PasswordFile == nil || p.ACLFile == nil {
			t.Errorf("posture = %+v", p)
		}
	})
	t.Run("the target spec audits the broker and its config", func(t *testing.T) {
		f, err := os.Open("target.yaml")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		tgt, err := spec.Parse(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(tgt.MQTT.URLs) != 1 || tgt.MQTT.URLs[0] != "mqtts://127.0.0.1:8883" || tgt.Gateway.Kind != spec.KindMosquitto {
			t.Errorf("target = %+v", tgt)
		}
		if tgt.MQTT.Username != "sensor-1" || tgt.MQTT.PlaintextPort != 1883 {
			t.Errorf("target audits as %q with plaintext port %d, want sensor-1 and 1883", tgt.MQTT.Username, tgt.MQTT.PlaintextPort)
		}
	})
}

// exampleBroker runs Debian's Mosquitto with this directory's mosquitto.conf
// and acl, moved to a free loopback port and test certificates, with a
// password for each user of the acl.
func exampleBroker(t *testing.T) (*mosquittotest.Broker, *testcert.PKI, map[string]string) {
	t.Helper()
	pki, err := testcert.New(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile("mosquitto.conf")
	if err != nil {
		t.Fatal(err)
	}
	acl, err := filepath.Abs("acl")
	if err != nil {
		t.Fatal(err)
	}
	b := mosquittotest.New(t, func(port int, dir string) string {
		text := string(conf)
		for _, r := range [][2]string{
			{"listener 8883 127.0.0.1", "listener " + strconv.Itoa(port) + " 127.0.0.1"},
			{"cafile certs/ca.pem", "cafile " + pki.CAFile},
			{"certfile certs/server.pem", "certfile " + pki.CertFile},
			{"keyfile certs/broker-key.pem", "keyfile " + pki.KeyFile},
			{"password_file passwd", "password_file " + filepath.Join(dir, "passwd")},
			{"acl_file acl", "acl_file " + acl},
			{"persistence_location data/", "persistence_location " + dir + "/"},
		} {
			if !strings.Contains(text, r[0]) {
				t.Fatalf("mosquitto.conf has no line %q: update this test with the example", r[0])
			}
			text = strings.Replace(text, r[0], r[1], 1)
		}
		return text
	})
	passwords := map[string]string{"ingestd": "ingestd-pass", "consumer": "consumer-pass", "sensor-1": "sensor-1-pass"}
	mosquittotest.WritePasswordFile(t, b, "passwd", "ingestd", passwords["ingestd"])
	bin := interop.Binary(t, "mosquitto_passwd", "mosquitto")
	for _, user := range []string{"consumer", "sensor-1"} {
		if out, err := exec.Command(bin, "-b", filepath.Join(b.Dir, "passwd"), user, passwords[user]).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v: %s", err, out)
		}
	}
	b.Start()
	return b, pki, passwords
}

// forwardTelemetry publishes as ingestd to telemetry/sensor-1 every 100 ms,
// the way ingestd.yaml forwards a device's batches, until the test ends.
func forwardTelemetry(t *testing.T, b *mosquittotest.Broker, pki *testcert.PKI, password string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := (&tls.Dialer{Config: &tls.Config{RootCAs: pki.Pool, ServerName: "127.0.0.1"}}).DialContext(ctx, "tcp", b.Addr())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cli := paho.NewClient(paho.ClientConfig{Conn: conn})
	cp := &paho.Connect{ClientID: "ingestd", KeepAlive: 30, CleanStart: true, UsernameFlag: true, Username: "ingestd", PasswordFlag: true, Password: []byte(password)}
	if ca, err := cli.Connect(ctx, cp); err != nil || ca.ReasonCode != 0 {
		cancel()
		t.Fatalf("ingestd connect: %v %+v", err, ca)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			_, _ = cli.Publish(ctx, &paho.Publish{Topic: "telemetry/sensor-1", QoS: 1, Payload: []byte(`{"temp":21.5}`)})
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done; _ = cli.Disconnect(&paho.Disconnect{}) })
}

// Interop: the audit of the example broker, while telemetry flows, reports
// what target.yaml's comment says.
func TestExampleBrokerAuditMatchesTargetComment(t *testing.T) {
	b, pki, passwords := exampleBroker(t)
	forwardTelemetry(t, b, pki, passwords["ingestd"])
	tests := []struct {
		name string
		user string
		want map[string]result.Status
	}{
		{
			name: "auditing as the device user sensor-1, as target.yaml does, finds nothing",
			user: "",
			want: map[string]result.Status{
				"mqtt_broker.anonymous_access_allowed":   result.StatusPass,
				"mqtt_broker.credentials_not_verified":   result.StatusPass,
				"mqtt_broker.wildcard_subscribe_allowed": result.StatusPass,
				"mqtt_broker.sys_topics_exposed":         result.StatusPass,
				"mqtt_broker.plaintext_listener":         result.StatusPass,
				"transport_tls.certificate_untrusted":    result.StatusPass,
			},
		},
		{
			name: "auditing as consumer, who may read every device's telemetry, fails wildcard_subscribe_allowed",
			user: "consumer",
			want: map[string]result.Status{"mqtt_broker.wildcard_subscribe_allowed": result.StatusFail},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Open("target.yaml")
			if err != nil {
				t.Fatal(err)
			}
			tgt, err := spec.Parse(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if tc.user != "" {
				tgt.MQTT.Username = tc.user
			}
			tgt.MQTT.URLs = []string{b.URL(true)}
			tgt.MQTT.CAFile = pki.CAFile
			tgt.MQTT.PlaintextPort = mosquittotest.FreePort(t) // nothing listens there
			tgt.MQTT.ListenFor = spec.Duration(time.Second)
			tgt.Gateway.ConfigFile = b.Conf
			t.Setenv(tgt.MQTT.PasswordEnv, passwords[tgt.MQTT.Username])
			if err := tgt.Validate(); err != nil {
				t.Fatal(err)
			}
			res, err := audit.Run(context.Background(), tgt, audit.Options{ToolVersion: "test"})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range res.Controls {
				if got, ok := tc.want[c.ID]; ok && c.Status != got {
					t.Errorf("%s = %s (%s), want %s", c.ID, c.Status, c.Reason, got)
				}
			}
			if tc.user == "" {
				for _, f := range res.Findings {
					if strings.HasPrefix(f.ID, "mqtt_broker.") {
						t.Errorf("finding %s", f.ID)
					}
				}
			}
		})
	}
}
