package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/server/testcert"
	"github.com/hardgate/hardgate/internal/poll"
)

// startWithHeaderTimeout starts a server of cfg whose header timeout is
// limit, with its metrics in reg.
func startWithHeaderTimeout(t *testing.T, cfg config.Config, limit time.Duration, reg *prometheus.Registry) *Server {
	t.Helper()
	srv, err := New(cfg, Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	srv.headerTimeout = limit
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv
}

// metricValue sums the series of name in reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range families {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

// headerBlock is the HPACK encoding of a GET of the health path.
func headerBlock(t *testing.T, token string) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for _, f := range []hpack.HeaderField{
		{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: "ingestd"}, {Name: ":path", Value: PathHealth},
		{Name: "authorization", Value: "Bearer " + token},
	} {
		if err := enc.WriteField(f); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// TestHTTP2HeaderBlocksAreBounded opens raw HTTP/2 connections over TLS:
// a header block that stops halfway (a HEADERS frame without END_HEADERS,
// or a HEADERS frame whose payload stops) gets the connection closed after
// the header timeout, like ReadHeaderTimeout for HTTP/1, instead of being
// held until IdleTimeout (120 s); a block that completes in time (HEADERS
// then CONTINUATION) is answered.
func TestHTTP2HeaderBlocksAreBounded(t *testing.T) {
	t.Parallel()
	cfg, pki, token := baseConfig(t)
	reg := prometheus.NewRegistry()
	const limit = 300 * time.Millisecond
	srv := startWithHeaderTimeout(t, cfg, limit, reg)
	block := headerBlock(t, token)
	half := len(block) / 2

	dial := func(t *testing.T) (*tls.Conn, *http2.Framer) {
		t.Helper()
		c := pki.ClientTLS()
		c.NextProtos = []string{"h2"}
		conn, err := tls.Dial("tcp", srv.HTTPSAddr(), c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
			t.Fatalf("negotiated %q, want h2", p)
		}
		if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
			t.Fatal(err)
		}
		fr := http2.NewFramer(conn, conn)
		if err := fr.WriteSettings(); err != nil {
			t.Fatal(err)
		}
		return conn, fr
	}
	// closedWithin reads frames until the server closes the connection.
	closedWithin := func(t *testing.T, conn *tls.Conn, fr *http2.Framer) time.Duration {
		t.Helper()
		start := time.Now()
		_ = conn.SetReadDeadline(start.Add(10 * time.Second))
		for {
			if _, err := fr.ReadFrame(); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("connection still open after 10s (header timeout %s)", limit)
				}
				return time.Since(start)
			}
		}
	}
	tests := []struct {
		name string
		send func(t *testing.T, conn *tls.Conn, fr *http2.Framer)
	}{
		{"a HEADERS frame without END_HEADERS and no CONTINUATION", func(t *testing.T, _ *tls.Conn, fr *http2.Framer) {
			if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block[:half], EndStream: true}); err != nil {
				t.Fatal(err)
			}
		}},
		{"a HEADERS frame whose payload stops halfway", func(t *testing.T, conn *tls.Conn, _ *http2.Framer) {
			n := len(block)
			hdr := []byte{byte(n >> 16), byte(n >> 8), byte(n), h2FrameHeaders, h2FlagEndHeaders | 0x1, 0, 0, 0, 1}
			if _, err := conn.Write(append(hdr, block[:half]...)); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is closed after the header timeout", func(t *testing.T) {
			conn, fr := dial(t)
			tt.send(t, conn, fr)
			if d := closedWithin(t, conn, fr); d < limit/2 {
				t.Fatalf("closed after %s, before the header timeout %s", d, limit)
			}
		})
	}
	if n := metricValue(t, reg, "ingestd_http2_header_timeouts_total"); n != 2 {
		t.Errorf("ingestd_http2_header_timeouts_total = %v, want 2", n)
	}
	t.Run("a header block split over CONTINUATION in time is answered", func(t *testing.T) {
		conn, fr := dial(t)
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block[:half], EndStream: true}); err != nil {
			t.Fatal(err)
		}
		if err := fr.WriteContinuation(1, true, block[half:]); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if h, ok := f.(*http2.HeadersFrame); ok && h.StreamID == 1 {
				return // the response's headers
			}
		}
	})
}

// TestConnectionCap holds limits.max_connections connections open: one
// more is not refused but waits, and is served as soon as a slot frees.
func TestConnectionCap(t *testing.T) {
	t.Parallel()
	cfg, pki, _ := baseConfig(t)
	cfg.Limits.MaxConnections = 2
	reg := prometheus.NewRegistry()
	srv := startWithHeaderTimeout(t, cfg, readHeaderTimeout, reg)
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", srv.HTTPSAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	poll.Until(t, "two open connections", func() bool { return metricValue(t, reg, "ingestd_connections_open") == 2 })
	done := make(chan error, 1)
	go func() { done <- getHealth(pki, srv.HTTPSAddr(), nil) }()
	poll.Until(t, "a third connection to wait", func() bool { return metricValue(t, reg, "ingestd_connections_waited_total") == 1 })
	select {
	case err := <-done:
		t.Fatalf("a third connection was answered (%v) over limits.max_connections = 2", err)
	default:
	}
	held[0].Close()
	if err := <-done; err != nil {
		t.Fatalf("the waiting connection once a slot freed: %v", err)
	}
}

// TestConnectionCapClosesIdleConnections fills the cap with idle
// keep-alive connections: a new one closes the connection idle longest
// and is served at once.
func TestConnectionCapClosesIdleConnections(t *testing.T) {
	t.Parallel()
	cfg, pki, _ := baseConfig(t)
	cfg.Limits.MaxConnections = 2
	reg := prometheus.NewRegistry()
	srv := startWithHeaderTimeout(t, cfg, readHeaderTimeout, reg)
	for i := range 2 {
		tr := &http.Transport{TLSClientConfig: pki.ClientTLS()}
		defer tr.CloseIdleConnections()
		if err := getHealth(pki, srv.HTTPSAddr(), tr); err != nil {
			t.Fatalf("keep-alive connection %d: %v", i, err)
		}
	}
	poll.Until(t, "two open connections", func() bool { return metricValue(t, reg, "ingestd_connections_open") == 2 })
	start := time.Now()
	if err := getHealth(pki, srv.HTTPSAddr(), nil); err != nil {
		t.Fatalf("a third connection: %v", err)
	}
	if took := time.Since(start); took >= readHeaderTimeout {
		t.Fatalf("the third connection waited %s, as long as an idle one takes to time out", took)
	}
	if n := metricValue(t, reg, "ingestd_connections_idle_closed_total"); n != 1 {
		t.Fatalf("ingestd_connections_idle_closed_total = %v, want 1", n)
	}
}

// getHealth GETs /healthz over tr (a new transport, closed after, when nil).
func getHealth(pki *testcert.PKI, addr string, tr *http.Transport) error {
	if tr == nil {
		tr = &http.Transport{TLSClientConfig: pki.ClientTLS()}
		defer tr.CloseIdleConnections()
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Get("https://" + addr + PathHealth)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}
