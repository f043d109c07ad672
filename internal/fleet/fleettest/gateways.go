// Package fleettest starts loopback gateways for fleet tests: a strong one
// (verified TLS, bearer auth: an audit PASSes), an open one (plaintext,
// accepts anything: FAIL) and a silent one (accepts TCP, never answers: the
// audit is inconclusive at its deadline), and writes fleet files.
package fleettest

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/pki"
)

// TokenEnv names the environment variable holding Token; call SetToken.
const TokenEnv = "HG_FLEET_TEST_TOKEN"

// Token is the device token the strong gateways accept.
const Token = "fleet-test-device-token-0123456789abcdef"

// SetToken puts Token into TokenEnv for the test.
func SetToken(t *testing.T) { t.Setenv(TokenEnv, Token) }

// CA is a test CA written to a file, issuing loopback certificates.
type CA struct {
	ca *pki.CA
	// File is the CA certificate (PEM).
	File string
}

// NewCA makes a CA and writes its certificate into dir.
func NewCA(t testing.TB, dir string) *CA {
	t.Helper()
	ca, err := pki.NewCA("fleet test CA", time.Now(), 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(file, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return &CA{ca: ca, File: file}
}

// Strong starts a gateway that PASSes: TLS with a certificate of ca for
// 127.0.0.1, 401 without the token, 202 with it, /healthz ok. It returns
// the ingest URL.
func (ca *CA) Strong(t testing.TB) string {
	t.Helper()
	leaf, err := ca.ca.Issue([]string{"127.0.0.1", "localhost"}, time.Now(), 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := leaf.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(bearer())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.Config.ErrorLog = quiet // the TLS scan's refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/ingest"
}

func bearer() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("POST /v1/ingest", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+Token {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ingestd"`)
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"batch_id":"b1","records":1}`)
	})
	return mux
}

var quiet = log.New(io.Discard, "", 0)

// Open starts a gateway that FAILs: plaintext HTTP that accepts any POST.
// It returns the ingest URL.
func Open(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/ingest"
}

// Silent is a listener that accepts connections and never answers.
type Silent struct {
	// Addr is host:port.
	Addr     string
	accepted atomic.Int64
}

// Accepted is how many connections it has accepted so far.
func (s *Silent) Accepted() int64 { return s.accepted.Load() }

// NewSilent starts a silent listener, closed with the test.
func NewSilent(t testing.TB) *Silent {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Silent{Addr: ln.Addr().String()}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return s
}

// WriteFile writes body to dir/name (0600) and returns the path.
func WriteFile(t testing.TB, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
