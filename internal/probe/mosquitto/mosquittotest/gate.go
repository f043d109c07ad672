package mosquittotest

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Gate is a loopback TCP relay to a broker that the test opens and shuts.
// While shut it closes every connection it has relayed and refuses new
// ones, as the stopped broker would.
//
// The broker outage tests need it because Mosquitto 2.0.11 does not bring
// back an MQTT 5 subscriber's persistent session after a restart: messages
// a publisher gets acknowledged before the subscriber has reconnected and
// subscribed again are acknowledged and then dropped by the broker, which
// would make a test of the publisher's at-least-once delivery fail for the
// broker's reason. Publishers go through the gate, and the test opens it
// only once the subscriber is back.
type Gate struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	open  bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewGate relays 127.0.0.1:<free port> to target until the test ends. It
// starts shut.
func NewGate(tb testing.TB, target string) *Gate {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("gate: %v", err)
	}
	g := &Gate{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	g.wg.Go(g.accept)
	tb.Cleanup(func() {
		ln.Close()
		g.Shut()
		g.wg.Wait()
	})
	return g
}

// Addr is the gate's "127.0.0.1:port".
func (g *Gate) Addr() string { return g.ln.Addr().String() }

// Open lets connections through.
func (g *Gate) Open() {
	g.mu.Lock()
	g.open = true
	g.mu.Unlock()
}

// Shut closes every relayed connection and refuses new ones.
func (g *Gate) Shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = false
	for c := range g.conns {
		c.Close()
	}
	clear(g.conns)
}

func (g *Gate) accept() {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		g.mu.Lock()
		if !g.open {
			g.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", g.target)
		if err != nil {
			g.mu.Unlock()
			c.Close()
			continue
		}
		g.conns[c], g.conns[up] = struct{}{}, struct{}{}
		g.mu.Unlock()
		g.wg.Go(func() { g.pipe(c, up) })
		g.wg.Go(func() { g.pipe(up, c) })
	}
}

// pipe copies src to dst and closes both when either side ends.
func (g *Gate) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
	g.mu.Lock()
	delete(g.conns, dst)
	delete(g.conns, src)
	g.mu.Unlock()
}
