package tlsscan

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"time"
)

// Config says what to scan and how.
type Config struct {
	// Address is host:port of the TLS endpoint.
	Address string
	// ServerName is sent as SNI (unless it is an IP address) and checked
	// against the certificate; default: the host part of Address.
	ServerName string
	// Roots are the trust anchors from the target's CA file (may be nil).
	Roots *x509.CertPool
	// SystemRoots also trusts the system roots.
	SystemRoots bool
	// HandshakeTimeout bounds every single handshake.
	HandshakeTimeout time.Duration
	// Parallelism bounds concurrent handshakes.
	Parallelism int
	// Versions to probe; default AllVersions.
	Versions []Version
	// Now is the clock (injected in tests).
	Now func() time.Time
	// Rand fills ClientHello randoms.
	Rand io.Reader
	// Dial opens connections; default a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Logger receives per-handshake debug lines.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults for address.
func DefaultConfig(address string) Config {
	return Config{
		Address:          address,
		SystemRoots:      true,
		HandshakeTimeout: 5 * time.Second,
		Parallelism:      8,
		Versions:         AllVersions,
	}
}

// Validate checks the config and fills unset optional fields.
func (c *Config) Validate() error {
	host, _, err := net.SplitHostPort(c.Address)
	if err != nil {
		return fmt.Errorf("tlsscan: address %q: %w", c.Address, err)
	}
	if c.ServerName == "" {
		c.ServerName = host
	}
	if c.HandshakeTimeout <= 0 {
		return fmt.Errorf("tlsscan: handshake timeout %v must be positive", c.HandshakeTimeout)
	}
	if c.Parallelism < 1 {
		return fmt.Errorf("tlsscan: parallelism %d must be at least 1", c.Parallelism)
	}
	if len(c.Versions) == 0 {
		c.Versions = AllVersions
	}
	for _, v := range c.Versions {
		if !slices.Contains(AllVersions, v) {
			return fmt.Errorf("tlsscan: version %v cannot be probed", v)
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.Dial == nil {
		d := &net.Dialer{}
		c.Dial = d.DialContext
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
