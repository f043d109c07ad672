// Command fastfront is a diagnosis tool for bench/ingestd, not a server to
// deploy: it answers the benchmark's request on valyala/fasthttp instead of
// net/http, over the same crypto/tls, so that the report can tell what Go's
// net/http costs from what ingestd's own work costs.
//
// Without -store it is a static 202 behind the bearer check (the fasthttp
// counterpart of bench/ingestd/floor). With -store it does ingestd's own
// work for each request: the bearer token's SHA-256 digest compared in
// constant time, the body validated and normalised by
// internal/gateway/payload, and a 202 only after internal/gateway/queue
// reports the batch durable (group commit, WAL fdatasynced), with ingestd's
// receipt and security headers. It leaves out what ingestd adds around
// that (rate limiter, metrics, request ids, connection cap, HTTP/2): a few
// microseconds a request, measured in docs/ingestd.md.
//
// It is its own module so that fasthttp never enters ingestd's build.
//
//	fastfront -listen 127.0.0.1:8443 -cert cert.pem -key key.pem -token TOKEN [-store DIR]
package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hardgate/hardgate/internal/gateway/payload"
	"github.com/hardgate/hardgate/internal/gateway/queue"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// config is what the flags give.
type config struct {
	listen, cert, key, token, store string
	maxBody                         int
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("fastfront", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8443", "loopback address to serve on")
	fs.StringVar(&c.cert, "cert", "", "PEM certificate")
	fs.StringVar(&c.key, "key", "", "PEM private key")
	fs.StringVar(&c.token, "token", "", "the bearer token to accept")
	fs.StringVar(&c.store, "store", "", "queue directory: validate and store durably, as ingestd does (default: static 202)")
	fs.IntVar(&c.maxBody, "max-body", 1<<20, "largest body accepted, in bytes")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.cert == "" || c.key == "" || c.token == "" {
		return c, errors.New("-cert, -key and -token are required")
	}
	return c, nil
}

func run(ctx context.Context, args []string, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "fastfront:", err)
		}
		return 2
	}
	h := &handler{want: sha256.Sum256([]byte(c.token))}
	if c.store != "" {
		q, err := queue.Open(queue.Options{Dir: c.store, MaxBytes: 32 << 30, WaitLimit: 20 * time.Second})
		if err != nil {
			fmt.Fprintln(stderr, "fastfront:", err)
			return 1
		}
		defer q.Close()
		h.q = q
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		fmt.Fprintln(stderr, "fastfront:", err)
		return 1
	}
	srv := &fasthttp.Server{
		Handler:               h.serve,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           120 * time.Second,
		MaxRequestBodySize:    c.maxBody,
		NoDefaultServerHeader: true,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, c.cert, c.key) }()
	select {
	case <-ctx.Done():
		_ = srv.Shutdown()
		return 0
	case err := <-errc:
		fmt.Fprintln(stderr, "fastfront:", err)
		return 1
	}
}

// handler answers /v1/ingest.
type handler struct {
	want [sha256.Size]byte
	q    *queue.Queue // nil: static 202
}

var static = []byte("{\"batch_id\":\"static\",\"records\":1}\n")

func (h *handler) serve(c *fasthttp.RequestCtx) {
	if !c.IsPost() || string(c.Path()) != "/v1/ingest" {
		c.Error("not found", fasthttp.StatusNotFound)
		return
	}
	tok, ok := bearer(c.Request.Header.Peek("Authorization"))
	got := sha256.Sum256(tok)
	if !ok || subtle.ConstantTimeCompare(got[:], h.want[:]) != 1 {
		c.Response.Header.Set("WWW-Authenticate", `Bearer realm="ingestd"`)
		c.SetConnectionClose()
		c.SetStatusCode(fasthttp.StatusUnauthorized)
		return
	}
	hdr := &c.Response.Header
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Strict-Transport-Security", "max-age=63072000")
	if h.q == nil {
		c.SetStatusCode(fasthttp.StatusAccepted)
		c.SetContentType("application/json")
		c.SetBody(static)
		return
	}
	res, err := payload.ParseBytes(c.PostBody())
	if err != nil {
		c.Error(err.Error(), fasthttp.StatusBadRequest)
		return
	}
	now := time.Now()
	id := queue.NewID(now)
	if err := h.q.Append(c, queue.Batch{ID: id, Device: "bench-1", Records: res.Records, Body: res.NDJSON, ReceivedAt: now}); err != nil {
		c.Error("not stored", fasthttp.StatusServiceUnavailable)
		return
	}
	c.SetStatusCode(fasthttp.StatusAccepted)
	c.SetContentType("application/json")
	b := c.Response.BodyWriter()
	_, _ = io.WriteString(b, `{"batch_id":"`+id+`","records":`+strconv.Itoa(res.Records)+"}\n")
}

// bearer returns the token of an "Authorization: Bearer TOKEN" value.
func bearer(v []byte) ([]byte, bool) {
	const p = "Bearer "
	if len(v) <= len(p) || string(v[:len(p)]) != p {
		return nil, false
	}
	return v[len(p):], true
}
