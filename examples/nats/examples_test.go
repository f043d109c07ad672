// Package nats_test checks that the NATS example configs parse and agree
// with each other: TLS on loopback, the token from NATS_TOKEN, JetStream.
// examples/examples_test.go runs the whole example (run.sh).
package nats_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/server/testcert"
)

func TestExampleConfigsAreValid(t *testing.T) {
	t.Run("the ingestd config forwards to JetStream over verified TLS on loopback", func(t *testing.T) {
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
		n := cfg.Forward.NATS
		if cfg.Forward.Kind != "nats" || !n.JetStream || n.URL != "tls://127.0.0.1:4222" || n.CAFile != "certs/ca.pem" || n.TokenEnv != "NATS_TOKEN" {
			t.Errorf("forward = %+v", cfg.Forward)
		}
		if cfg.Auth.TokensFile != "tokens.yaml" {
			t.Errorf("auth.tokens_file = %q, want tokens.yaml", cfg.Auth.TokensFile)
		}
	})
	t.Run("the nats-server config listens on loopback with TLS, the token and JetStream", func(t *testing.T) {
		conf, err := filepath.Abs("nats-server.conf")
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "certs"), 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := testcert.New(filepath.Join(dir, "certs"), time.Now()); err != nil {
			t.Fatal(err)
		}
		t.Chdir(dir) // the config's paths are relative to the working directory
		t.Setenv("NATS_TOKEN", "nats_example_token")
		opts, err := natsserver.ProcessConfigFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		if opts.Host != "127.0.0.1" || opts.Port != 4222 || !opts.JetStream || opts.Authorization != "nats_example_token" || opts.TLSConfig == nil {
			t.Errorf("host %q port %d jetstream %v token set %v tls %v", opts.Host, opts.Port, opts.JetStream, opts.Authorization != "", opts.TLSConfig != nil)
		}
	})
}
