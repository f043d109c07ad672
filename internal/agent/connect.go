package agent

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// ErrPlaintext is returned for a nats:// URL to a host other than
// loopback without AllowPlaintext.
var ErrPlaintext = errors.New("plaintext NATS to a non-loopback server")

// ConnConfig says how to reach NATS.
type ConnConfig struct {
	// URL is nats://host:4222 or tls://host:4222 (comma-separated for a
	// cluster).
	URL string
	// CredsFile is a NATS credentials file: a user JWT with its NKey seed
	// (decentralised auth), or an NKey seed alone (an nkey user of the
	// server config).
	CredsFile string
	// CAFile verifies the server's certificate; empty uses the system
	// roots. Setting it turns TLS on for nats:// URLs too.
	CAFile string
	// AllowPlaintext permits nats:// without TLS to a non-loopback host.
	AllowPlaintext bool
	// Name is the connection name the server shows.
	Name string
	// InboxPrefix is the reply-subject prefix (InboxPrefix(site) for an
	// agent, so the server can keep sites apart).
	InboxPrefix string
}

// tlsWanted reports whether the URLs ask for TLS, and refuses plaintext to
// a non-loopback host unless allowed.
func (c *ConnConfig) tlsWanted() (bool, error) {
	if strings.TrimSpace(c.URL) == "" {
		return false, errors.New("nats url is empty")
	}
	wantTLS := c.CAFile != ""
	for _, raw := range strings.Split(c.URL, ",") {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || u.Host == "" {
			return false, fmt.Errorf("nats url %q: want nats://host:port or tls://host:port", raw)
		}
		switch u.Scheme {
		case "tls":
			wantTLS = true
		case "nats":
		default:
			return false, fmt.Errorf("nats url %q: scheme %q, want nats or tls", raw, u.Scheme)
		}
		if u.User != nil {
			return false, fmt.Errorf("nats url %q: credentials in the URL; use a creds or nkey file", u.Redacted())
		}
		if u.Scheme == "nats" && c.CAFile == "" && !c.AllowPlaintext && !loopbackHost(u.Hostname()) {
			return false, fmt.Errorf("%w: %s (use tls:// or a CA file, or allow plaintext explicitly)", ErrPlaintext, u.Host)
		}
	}
	return wantTLS, nil
}

func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Options returns the nats.go options: TLS 1.2+ verified against CAFile,
// credentials, endless reconnects.
func (c *ConnConfig) Options() ([]nats.Option, error) {
	wantTLS, err := c.tlsWanted()
	if err != nil {
		return nil, err
	}
	opts := []nats.Option{nats.Name(c.Name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true), nats.Timeout(5 * time.Second)}
	if c.InboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(c.InboxPrefix))
	}
	if wantTLS {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("read nats CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("nats CA file %s holds no PEM certificate", c.CAFile)
			}
			tc.RootCAs = pool
		}
		opts = append(opts, nats.Secure(tc))
	}
	if c.CredsFile != "" {
		o, err := credsOption(c.CredsFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, o)
	}
	return opts, nil
}

// Connect connects to NATS as c says. With RetryOnFailedConnect the first
// connection is retried in the background, so an agent started before
// its server comes up waits for it.
func Connect(c ConnConfig) (*nats.Conn, error) {
	opts, err := c.Options()
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(c.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats: %w", err)
	}
	return nc, nil
}

// credsOption reads a creds file: a JWT creds file, or an NKey user seed.
func credsOption(path string) (nats.Option, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nats creds file: %w", err)
	}
	defer clear(data)
	if strings.Contains(string(data), "BEGIN NATS USER JWT") {
		return nats.UserCredentials(path), nil
	}
	o, err := nats.NkeyOptionFromSeed(path)
	if err != nil {
		return nil, fmt.Errorf("nats creds file %s: neither a JWT creds file nor an NKey user seed: %w", path, err)
	}
	return o, nil
}

// Check validates the URL list and the plaintext rule without reading any
// file (for config validation).
func (c *ConnConfig) Check() error {
	_, err := c.tlsWanted()
	return err
}
