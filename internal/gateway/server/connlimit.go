package server

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// connLimit caps the connections open at once across every listener
// (limits.max_connections), the way a gateway absorbs thousands of devices
// reconnecting at once without failing them or running out of memory.
//
// While the cap is reached, the listener takes no more connections from
// the kernel: they wait in its accept queue (the listen backlog,
// net.core.somaxconn), and past it the devices' TCP stacks retry their
// SYN with backoff. Nothing is refused, so no device is told to come back
// and add to the storm; each is served when a slot frees, and its TLS
// handshake and header timeouts start only then. A connection that
// arrives at the cap makes room by closing the connection idle longest (a
// keep-alive between requests), as nginx does with its keep-alive
// connections when it runs out; when none is idle it waits for a slot.
type connLimit struct {
	slots  chan struct{}
	open   prometheus.Gauge
	waited prometheus.Counter // accepts that found the cap reached
	shed   prometheus.Counter // idle connections closed to make room

	mu   sync.Mutex
	idle map[net.Conn]time.Time // connections between requests, since when
}

func newConnLimit(max int, open prometheus.Gauge, waited, shed prometheus.Counter) *connLimit {
	return &connLimit{slots: make(chan struct{}, max), open: open, waited: waited, shed: shed, idle: map[net.Conn]time.Time{}}
}

// listener wraps ln with the cap.
func (l *connLimit) listener(ln net.Listener) net.Listener {
	return &limitedListener{Listener: ln, limit: l, done: make(chan struct{})}
}

// connState is the http.Server's ConnState hook: it tracks which
// connections are idle.
func (l *connLimit) connState(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st == http.StateIdle {
		l.idle[c] = time.Now()
		return
	}
	delete(l.idle, c)
}

// shedIdle closes the connection idle longest, if any.
func (l *connLimit) shedIdle() {
	l.mu.Lock()
	var oldest net.Conn
	var since time.Time
	for c, t := range l.idle {
		if oldest == nil || t.Before(since) {
			oldest, since = c, t
		}
	}
	delete(l.idle, oldest)
	l.mu.Unlock()
	if oldest != nil {
		l.shed.Inc()
		// A TLS connection says close_notify first: not on the accept loop.
		go oldest.Close()
	}
}

type limitedListener struct {
	net.Listener
	limit *connLimit
	done  chan struct{}
	once  sync.Once
}

// Accept returns the next connection once the cap has room for it.
func (ll *limitedListener) Accept() (net.Conn, error) {
	c, err := ll.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l := ll.limit
	select {
	case l.slots <- struct{}{}:
	default:
		l.waited.Inc()
		l.shedIdle()
		select {
		case l.slots <- struct{}{}:
		case <-ll.done:
			_ = c.Close()
			return nil, net.ErrClosed
		}
	}
	l.open.Inc()
	return &limitedConn{Conn: c, limit: l}, nil
}

// Close stops a pending Accept and closes the listener.
func (ll *limitedListener) Close() error {
	ll.once.Do(func() { close(ll.done) })
	return ll.Listener.Close()
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
