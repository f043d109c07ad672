package server

import (
	"net"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// connLimit caps the connections open at once across every listener
// (limits.max_connections). A connection over the cap is accepted and
// closed at once, so that the client fails fast instead of waiting in the
// kernel's backlog, and counted.
type connLimit struct {
	slots   chan struct{}
	open    prometheus.Gauge
	refused prometheus.Counter
}

func newConnLimit(max int, open prometheus.Gauge, refused prometheus.Counter) *connLimit {
	return &connLimit{slots: make(chan struct{}, max), open: open, refused: refused}
}

// listener wraps ln with the cap.
func (l *connLimit) listener(ln net.Listener) net.Listener {
	return &limitedListener{Listener: ln, limit: l}
}

type limitedListener struct {
	net.Listener
	limit *connLimit
}

// Accept returns the next connection while the cap has room, closing the
// ones over it.
func (ll *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case ll.limit.slots <- struct{}{}:
			ll.limit.open.Inc()
			return &limitedConn{Conn: c, limit: ll.limit}, nil
		default:
			ll.limit.refused.Inc()
			_ = c.Close()
		}
	}
}

// limitedConn gives its slot back when closed.
type limitedConn struct {
	net.Conn
	limit *connLimit
	once  sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		<-c.limit.slots
		c.limit.open.Dec()
	})
	return err
}
