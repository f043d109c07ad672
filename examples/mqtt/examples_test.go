// Package mqtt_test checks that the MQTT example configs parse and that the
// broker config passes the mosquitto guardrails' facts.
package mqtt_test

import (
	"os"
	"testing"

	"github.com/hardgate/hardgate/internal/audit"
	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/probe/mosquitto"
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
		tgt, err := audit.ParseTarget(f, ".")
		if err != nil {
			t.Fatal(err)
		}
		if len(tgt.MQTT.URLs) != 1 || tgt.MQTT.URLs[0] != "mqtts://127.0.0.1:8883" || tgt.Gateway.Kind != audit.MosquittoKind {
			t.Errorf("target = %+v", tgt)
		}
	})
}
