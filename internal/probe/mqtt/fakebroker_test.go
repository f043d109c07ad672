package mqtt

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// fakeBroker is a hostile or recording MQTT server on loopback for the
// cases Mosquitto cannot play: it records every byte any client sent and
// hands each connection to serve.
type fakeBroker struct {
	ln net.Listener

	mu       sync.Mutex
	received bytes.Buffer
	connects int
	wg       sync.WaitGroup
}

// fakeConn is one accepted connection of a fakeBroker.
type fakeConn struct {
	net.Conn
	rd *bufio.Reader
}

// next reads the next packet the client sent.
func (c *fakeConn) next() (frame, error) { return readFrame(c.rd) }

// send writes packets to the client.
func (c *fakeConn) send(b ...[]byte) error {
	for _, p := range b {
		if _, err := c.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// newFakeBroker listens on 127.0.0.1 (TLS with cfg when cfg is not nil)
// until the test ends.
func newFakeBroker(t *testing.T, cfg *tls.Config, serve func(c *fakeConn)) *fakeBroker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	b := &fakeBroker{ln: ln}
	b.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.wg.Go(func() {
				defer c.Close()
				fc := &fakeConn{Conn: c, rd: bufio.NewReader(io.TeeReader(c, recorder{b}))}
				b.mu.Lock()
				b.connects++
				b.mu.Unlock()
				serve(fc)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		b.wg.Wait()
	})
	return b
}

type recorder struct{ b *fakeBroker }

func (r recorder) Write(p []byte) (int, error) {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	return r.b.received.Write(p)
}

// saw reports whether any client ever sent s.
func (b *fakeBroker) saw(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Contains(b.received.Bytes(), []byte(s))
}

// url is the broker's mqtt:// (or mqtts://) URL.
func (b *fakeBroker) url(useTLS bool) string {
	if useTLS {
		return "mqtts://" + b.ln.Addr().String()
	}
	return "mqtt://" + b.ln.Addr().String()
}

// Packets a fake broker sends (MQTT 3.1.1).
var (
	connackOK = []byte{typeConnack << 4, 2, 0, 0}
	pingresp  = []byte{typePingresp << 4, 0}
)

func suback(id uint16, code byte) []byte {
	return packet(typeSuback<<4, append(binary.BigEndian.AppendUint16(nil, id), code))
}

// untilClosed sends what send returns every interval until a write fails
// (the client is gone), draining what the client sends meanwhile.
func untilClosed(c *fakeConn, interval time.Duration, send func() []byte) {
	go func() { _, _ = io.Copy(io.Discard, c.rd) }()
	stream(c, interval, send)
}

// stream sends what send returns every interval until a write fails.
func stream(c *fakeConn, interval time.Duration, send func() []byte) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for range tick.C {
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		if err := c.send(send()); err != nil {
			return
		}
	}
}
