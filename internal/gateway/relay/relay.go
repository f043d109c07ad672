// Package relay is a loopback TCP relay for outage tests. The test opens it
// towards an upstream and shuts it to cut the upstream off: while shut it
// closes every connection it relayed and refuses new ones (accepted, then
// closed at once), as a stopped server would. The relay keeps its own
// listener from New to the end of the test, so a client always dials the
// same address and no test ever binds a port another process may have
// taken since it was released. The upstream behind it may move: Open takes
// the address to relay to, so a server restarted on a new ephemeral port is
// reached at the relay's address.
//
// Only tests import it, so deadcode lists it unless run with -test.
package relay

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Relay relays 127.0.0.1:<port> to the address given to Open.
type Relay struct {
	ln net.Listener

	mu     sync.Mutex
	target string // "" while shut
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// New listens on a free loopback port until the test ends. It starts shut.
func New(tb testing.TB) *Relay {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("relay: %v", err)
	}
	r := &Relay{ln: ln, conns: map[net.Conn]struct{}{}}
	r.wg.Go(r.accept)
	tb.Cleanup(func() {
		_ = ln.Close()
		r.Shut()
		r.wg.Wait()
	})
	return r
}

// Addr is the relay's "127.0.0.1:port".
func (r *Relay) Addr() string { return r.ln.Addr().String() }

// Open relays new connections to target ("host:port").
func (r *Relay) Open(target string) {
	r.mu.Lock()
	r.target = target
	r.mu.Unlock()
}

// Shut closes every relayed connection and refuses new ones.
func (r *Relay) Shut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.target = ""
	for c := range r.conns {
		_ = c.Close()
	}
	clear(r.conns)
}

func (r *Relay) accept() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		target := r.target
		r.mu.Unlock()
		if target == "" {
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", target)
		if err != nil {
			_ = c.Close()
			continue
		}
		r.mu.Lock()
		if r.target != target { // shut (or moved) while dialling
			r.mu.Unlock()
			_ = c.Close()
			_ = up.Close()
			continue
		}
		r.conns[c], r.conns[up] = struct{}{}, struct{}{}
		r.mu.Unlock()
		r.wg.Go(func() { r.pipe(c, up) })
		r.wg.Go(func() { r.pipe(up, c) })
	}
}

// pipe copies src to dst and closes both when either side ends.
func (r *Relay) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
	r.mu.Lock()
	delete(r.conns, dst)
	delete(r.conns, src)
	r.mu.Unlock()
}
