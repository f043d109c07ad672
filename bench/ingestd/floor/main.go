// Command floor is a diagnosis tool for bench/ingestd: the cheapest Go HTTPS
// server that answers the benchmark's request the way nginx does there (a
// static 202 behind a bearer check, no validation, no storage), built on the
// same crypto/tls and net/http stacks as ingestd. Its req/s is the ceiling
// any Go server reaches on the machine; the gap between it and nginx is the
// cost of Go's TLS and HTTP/1.1 stacks, not of ingestd's own work.
//
//	floor -listen 127.0.0.1:8443 -cert cert.pem -key key.pem -token TOKEN
package main

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8443", "loopback address to serve on")
	certFile := fs.String("cert", "", "PEM certificate")
	keyFile := fs.String("key", "", "PEM private key")
	token := fs.String("token", "", "the bearer token to accept")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *certFile == "" || *keyFile == "" || *token == "" {
		fmt.Fprintln(stderr, "floor: -cert, -key and -token are required")
		return 2
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		fmt.Fprintf(stderr, "floor: load key pair: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "floor: %v\n", err)
		return 1
	}
	want := []byte("Bearer " + *token)
	body := []byte("{\"batch_id\":\"static\",\"records\":1}\n")
	srv := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{"http/1.1"},
		},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.URL.Path != "/v1/ingest" {
				http.Error(w, "not found", http.StatusNotFound)
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
			h := w.Header()
			h["Content-Type"] = []string{"application/json"}
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write(body)
		}),
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Fprintf(stdout, "floor: serving https://%s/v1/ingest\n", ln.Addr())
	if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "floor: %v\n", err)
		return 1
	}
	return 0
}
