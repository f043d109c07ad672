package server

import (
	"context"
	"crypto/tls"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// HTTP/2 with a bound on header blocks.
//
// net/http bounds the time an HTTP/1 client may take to send its request
// headers (ReadHeaderTimeout) but not an HTTP/2 header block: a client
// that sends a HEADERS frame without END_HEADERS, then nothing, holds the
// connection until IdleTimeout (120 s). ingestd serves HTTP/2 with
// golang.org/x/net/http2 (the source of net/http's own HTTP/2 server) on
// a connection that watches the frames the client sends and closes it when
// a header block is not complete within the header timeout.

// HTTP/2 frame types and the flag (RFC 9113, section 6) the guard reads.
const (
	h2FrameHeaders      = 0x1
	h2FrameContinuation = 0x9
	h2FlagEndHeaders    = 0x4
	h2FrameHeaderLen    = 9
)

// configureHTTP2 serves HTTP/2 on srv's TLS connections through a
// headerGuard of limit; expired is called when the guard closes one.
//
// x/net marks its server API deprecated in favour of net/http's HTTP/2
// (http.Server.Protocols), which offers no bound on header blocks and no
// way to serve a wrapped connection; x/net keeps the API working (from Go
// 1.27 on top of net/http's own server). When net/http bounds header
// blocks itself, this file goes.
func configureHTTP2(srv *http.Server, limit time.Duration, expired func()) error {
	//lint:ignore SA1019 see configureHTTP2's comment: the only way to serve HTTP/2 on a guarded connection
	h2 := &http2.Server{}
	//lint:ignore SA1019 as above
	if err := http2.ConfigureServer(srv, h2); err != nil {
		return err
	}
	srv.TLSNextProto[http2.NextProtoTLS] = func(hs *http.Server, c *tls.Conn, h http.Handler) {
		g := newHeaderGuard(c, limit, expired)
		defer g.stop()
		var ctx context.Context
		if bc, ok := h.(interface{ BaseContext() context.Context }); ok {
			ctx = bc.BaseContext()
		}
		//lint:ignore SA1019 as above
		h2.ServeConn(g, &http2.ServeConnOpts{Context: ctx, Handler: h, BaseConfig: hs})
	}
	return nil
}

// headerGuard is a server-side HTTP/2 connection that parses the frame
// headers the client sends (nothing else) and closes the connection when a
// header block (a HEADERS frame and its CONTINUATION frames, up to the one
// with END_HEADERS) takes longer than limit to arrive. Only the server's
// frame reader calls Read.
type headerGuard struct {
	*tls.Conn
	limit   time.Duration
	expired func()

	// Read's parser state.
	preface   int // client preface bytes still to pass
	hdr       [h2FrameHeaderLen]byte
	hdrLen    int    // bytes of hdr filled
	payload   uint32 // payload bytes of the current frame still to pass
	endsBlock bool   // the current frame ends a header block
	inBlock   bool

	mu      sync.Mutex
	timer   *time.Timer // running while inBlock
	stopped bool
}

func newHeaderGuard(c *tls.Conn, limit time.Duration, expired func()) *headerGuard {
	return &headerGuard{Conn: c, limit: limit, expired: expired, preface: len(http2.ClientPreface)}
}

// Read reads from the connection and follows the frames read.
func (g *headerGuard) Read(p []byte) (int, error) {
	n, err := g.Conn.Read(p)
	g.observe(p[:n])
	return n, err
}

// observe advances the parser over b, bytes the client sent.
func (g *headerGuard) observe(b []byte) {
	for len(b) > 0 {
		switch {
		case g.preface > 0:
			n := min(g.preface, len(b))
			g.preface -= n
			b = b[n:]
		case g.payload > 0:
			n := min(int(min(g.payload, 1<<30)), len(b))
			g.payload -= uint32(n)
			b = b[n:]
			if g.payload == 0 {
				g.frameEnd()
			}
		default:
			n := copy(g.hdr[g.hdrLen:], b)
			g.hdrLen += n
			b = b[n:]
			if g.hdrLen == h2FrameHeaderLen {
				g.hdrLen = 0
				g.frameStart()
			}
		}
	}
}

// frameStart reads a complete frame header.
func (g *headerGuard) frameStart() {
	length := uint32(g.hdr[0])<<16 | uint32(g.hdr[1])<<8 | uint32(g.hdr[2])
	typ, flags := g.hdr[3], g.hdr[4]
	g.endsBlock = false
	switch typ {
	case h2FrameHeaders:
		if !g.inBlock {
			g.inBlock = true
			g.arm()
		}
		g.endsBlock = flags&h2FlagEndHeaders != 0
	case h2FrameContinuation:
		g.endsBlock = flags&h2FlagEndHeaders != 0
	}
	g.payload = length
	if length == 0 {
		g.frameEnd()
	}
}

// frameEnd is called once a frame's payload has been read.
func (g *headerGuard) frameEnd() {
	if g.endsBlock {
		g.endsBlock, g.inBlock = false, false
		g.disarm()
	}
}

func (g *headerGuard) arm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return
	}
	if g.timer == nil {
		g.timer = time.AfterFunc(g.limit, g.expire)
		return
	}
	g.timer.Reset(g.limit)
}

func (g *headerGuard) disarm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.timer != nil {
		g.timer.Stop()
	}
}

// expire closes the connection whose header block is late.
func (g *headerGuard) expire() {
	g.mu.Lock()
	stopped := g.stopped
	g.mu.Unlock()
	if stopped {
		return
	}
	if g.expired != nil {
		g.expired()
	}
	_ = g.Conn.Close()
}

// stop ends the guard when the connection is done.
func (g *headerGuard) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	if g.timer != nil {
		g.timer.Stop()
	}
}
