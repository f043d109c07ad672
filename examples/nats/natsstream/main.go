// Command natsstream is the small JetStream client of examples/nats: it
// creates the stream that ingestd publishes to and prints the last message
// that reached it, so that the example needs nothing beyond nats-server (no
// nats CLI). It connects over TLS verified against --ca, with the token read
// from the environment variable named by --token-env.
//
//	natsstream add --stream TELEMETRY --subjects 'telemetry.>'
//	natsstream last --stream TELEMETRY --subject 'telemetry.>' --wait 10s
//
// Exit codes: 0 ok, 1 failure, 2 usage error.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const usage = `natsstream: create the example's JetStream stream and show what reached it

Usage:
  natsstream add  [flags] [--subjects 'telemetry.>']    create (or update) the stream
  natsstream last [flags] [--subject 'telemetry.>'] [--wait 10s]
                                                        print the last message on the subject,
                                                        waiting for one to arrive
Flags of both:
  --server URL      tls://host:port (default tls://127.0.0.1:4222)
  --ca FILE         CA that verifies the server's certificate (default certs/ca.pem)
  --token-env NAME  environment variable holding the server's token (default NATS_TOKEN)
  --stream NAME     stream name (default TELEMETRY)
`

type options struct {
	server, ca, tokenEnv, stream string
	subjects, subject            string
	wait                         time.Duration
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "add" && args[0] != "last") {
		fmt.Fprint(stderr, usage)
		return 2
	}
	o := options{}
	fs := flag.NewFlagSet("natsstream "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.server, "server", "tls://127.0.0.1:4222", "")
	fs.StringVar(&o.ca, "ca", "certs/ca.pem", "")
	fs.StringVar(&o.tokenEnv, "token-env", "NATS_TOKEN", "")
	fs.StringVar(&o.stream, "stream", "TELEMETRY", "")
	fs.StringVar(&o.subjects, "subjects", "telemetry.>", "")
	fs.StringVar(&o.subject, "subject", "telemetry.>", "")
	fs.DurationVar(&o.wait, "wait", 10*time.Second, "")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: bad arguments (%v)\n\n%s", fs.Name(), err, usage)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.wait+5*time.Second)
	defer cancel()
	nc, err := connect(o)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		return 1
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err == nil {
		if args[0] == "add" {
			err = add(ctx, js, o, stdout)
		} else {
			err = last(ctx, js, o, stdout)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		return 1
	}
	return 0
}

// connect dials the server over TLS verified against o.ca, with the token
// from o.tokenEnv.
func connect(o options) (*nats.Conn, error) {
	u, err := url.Parse(o.server)
	if err != nil || u.Scheme != "tls" || u.Hostname() == "" {
		return nil, fmt.Errorf("--server %q: want tls://host:port", o.server)
	}
	pem, err := os.ReadFile(o.ca)
	if err != nil {
		return nil, fmt.Errorf("--ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca %s: no PEM certificate", o.ca)
	}
	token := os.Getenv(o.tokenEnv)
	if token == "" {
		return nil, fmt.Errorf("--token-env: set the variable %s to the server's token", o.tokenEnv)
	}
	tlsCfg := &tls.Config{RootCAs: pool, ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	nc, err := nats.Connect(o.server, nats.Name("natsstream"), nats.Secure(tlsCfg), nats.Token(token), nats.Timeout(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", o.server, err)
	}
	return nc, nil
}

// add creates the stream, file-backed, or updates its subjects.
func add(ctx context.Context, js jetstream.JetStream, o options, stdout io.Writer) error {
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:     o.stream,
		Subjects: strings.Split(o.subjects, ","),
		Storage:  jetstream.FileStorage,
	})
	if err != nil {
		return fmt.Errorf("create stream %s: %w", o.stream, err)
	}
	info := s.CachedInfo()
	fmt.Fprintf(stdout, "stream %s captures %s (%d messages)\n", info.Config.Name, strings.Join(info.Config.Subjects, ","), info.State.Msgs)
	return nil
}

// last waits until the stream holds a message on o.subject and prints the
// newest one: subject, headers and payload on one line.
func last(ctx context.Context, js jetstream.JetStream, o options, stdout io.Writer) error {
	s, err := js.Stream(ctx, o.stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", o.stream, err)
	}
	deadline := time.Now().Add(o.wait)
	for {
		m, err := s.GetLastMsgForSubject(ctx, o.subject)
		if err == nil {
			fmt.Fprintln(stdout, formatMsg(m))
			return nil
		}
		if !errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("last message on %s: %w", o.subject, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no message on %s in stream %s after %s", o.subject, o.stream, o.wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func formatMsg(m *jetstream.RawStreamMsg) string {
	parts := []string{m.Subject}
	keys := make([]string, 0, len(m.Header))
	for k := range m.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		parts = append(parts, k+":"+strings.Join(m.Header.Values(k), ","))
	}
	return strings.Join(append(parts, strings.TrimRight(string(m.Data), "\n")), " ")
}
