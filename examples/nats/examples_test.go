// Package nats_test checks that the NATS example configs parse.
package nats_test

import (
	"os"
	"testing"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/hardgate/hardgate/internal/gateway/config"
)

func TestExampleConfigsAreValid(t *testing.T) {
	t.Run("the ingestd config forwards to JetStream on loopback", func(t *testing.T) {
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
		if cfg.Forward.Kind != "nats" || !cfg.Forward.NATS.JetStream || cfg.Forward.NATS.URL != "nats://127.0.0.1:4222" {
			t.Errorf("forward = %+v", cfg.Forward)
		}
	})
	t.Run("the nats-server config listens on loopback with JetStream", func(t *testing.T) {
		t.Setenv("NATS_TOKEN", "example-token")
		opts, err := natsserver.ProcessConfigFile("nats-server.conf")
		if err != nil {
			t.Fatal(err)
		}
		if opts.Host != "127.0.0.1" || opts.Port != 4222 || !opts.JetStream || opts.Authorization != "example-token" {
			t.Errorf("host %q port %d jetstream %v token set %v", opts.Host, opts.Port, opts.JetStream, opts.Authorization != "")
		}
	})
}
