package audit

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/auth"
	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/server"
	"github.com/hardgate/hardgate/internal/pki"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

var transportTLSIDs = []string{
	"transport_tls.legacy_protocol_enabled",
	"transport_tls.weak_cipher_suites",
	"transport_tls.no_forward_secrecy",
	"transport_tls.weak_dh_group",
	"transport_tls.certificate_untrusted",
	"transport_tls.certificate_expired",
	"transport_tls.certificate_expiring_soon",
	"transport_tls.hostname_mismatch",
	"transport_tls.weak_key",
	"transport_tls.weak_signature",
	"transport_tls.tls13_not_supported",
}

func allTLS(st result.Status) map[string]result.Status {
	m := map[string]result.Status{}
	for _, id := range transportTLSIDs {
		m[id] = st
	}
	return m
}

// startIngestd runs the real ingestd server in its hardened default state
// (TLS 1.2+, ECDHE AEAD suites, ECDSA P-256 certificate with SANs from a
// test CA) and returns its HTTPS address and the CA file.
func startIngestd(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	certs, err := pki.WriteFiles(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tokens := filepath.Join(dir, "tokens.yaml")
	if _, err := auth.AddToken(tokens, "device-01"); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Listen.HTTPS = "127.0.0.1:0"
	cfg.TLS.CertFile, cfg.TLS.KeyFile = certs.Cert, certs.Key
	cfg.Auth.TokensFile = tokens
	cfg.Store.Dir = filepath.Join(dir, "store")
	if err := cfg.Validate(); err != nil {
		t.Fatalf("ingestd config: %v", err)
	}
	srv, err := server.New(cfg, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
		cancel()
	})
	return srv.HTTPSAddr(), certs.CA
}

func TestIngestdAfterStatePassesEveryTransportTLSControl(t *testing.T) {
	addr, caFile := startIngestd(t)
	res := mustRun(t, &spec.Target{Name: "ingestd", Ingest: spec.Ingest{URLs: []string{"https://" + addr + "/v1/ingest"}, CAFile: caFile}})
	wantStatus(t, res, allTLS(result.StatusPass))
	ev := control(t, res, "transport_tls.weak_cipher_suites").Evidence
	if len(ev) != 1 || ev[0].TLS == nil || len(ev[0].TLS.Accepted) == 0 {
		t.Fatalf("evidence lacks the accepted pairs: %+v", ev)
	}
	for _, pair := range ev[0].TLS.Accepted {
		if !strings.HasPrefix(pair, "TLSv1.3 ") && !strings.HasPrefix(pair, "TLSv1.2 ECDHE-") {
			t.Errorf("ingestd accepted %q", pair)
		}
	}
	if got := res.Target.TLSAddrs; len(got) != 1 || got[0] != addr {
		t.Errorf("target tls_addrs = %v, want [%s]", got, addr)
	}
}

// weakServer serves TLS 1.0-1.2 with static RSA and 3DES suites, no TLS
// 1.3, and a self-signed RSA-1024 SHA-1 certificate without SAN that
// expires in five days.
func weakServer(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(5 * 24 * time.Hour),
		SignatureAlgorithm: x509.SHA1WithRSA, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return serveHandshakes(t, &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS10, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA},
	})
}

func TestAWeakTLSEndpointFailsTheTransportTLSControls(t *testing.T) {
	addr := weakServer(t)
	res := mustRun(t, &spec.Target{Name: "weak", Ingest: spec.Ingest{URLs: []string{"https://127.0.0.1:1/v1/ingest"}}, TLS: spec.TLS{Addresses: []string{addr}}})
	want := map[string]result.Status{
		"transport_tls.legacy_protocol_enabled":   result.StatusFail,
		"transport_tls.weak_cipher_suites":        result.StatusFail,
		"transport_tls.no_forward_secrecy":        result.StatusFail,
		"transport_tls.weak_dh_group":             result.StatusError, // the closed https URL cannot be scanned
		"transport_tls.certificate_untrusted":     result.StatusFail,
		"transport_tls.certificate_expired":       result.StatusError,
		"transport_tls.certificate_expiring_soon": result.StatusFail,
		"transport_tls.hostname_mismatch":         result.StatusFail,
		"transport_tls.weak_key":                  result.StatusFail,
		"transport_tls.weak_signature":            result.StatusFail,
		"transport_tls.tls13_not_supported":       result.StatusFail,
	}
	wantStatus(t, res, want)
	ev := control(t, res, "transport_tls.weak_cipher_suites").Evidence
	var accepted []string
	for _, e := range ev {
		if e.TLS != nil && e.TLS.Address == addr {
			accepted = e.TLS.Accepted
		}
	}
	wantPairs := []string{"TLSv1.0 DES-CBC3-SHA", "TLSv1.1 DES-CBC3-SHA", "TLSv1.2 DES-CBC3-SHA"}
	if strings.Join(accepted, ",") != strings.Join(wantPairs, ",") {
		t.Errorf("weak_cipher_suites evidence lists %v, want exactly %v", accepted, wantPairs)
	}
}

func TestTransportTLSIsNotApplicableWithoutTLSEndpoints(t *testing.T) {
	res := mustRun(t, &spec.Target{Name: "plain", Ingest: spec.Ingest{URLs: []string{"http://127.0.0.1:1/v1/ingest"}}})
	wantStatus(t, res, allTLS(result.StatusNotApplicable))
}

// serveHandshakes completes TLS handshakes with cfg on a loopback port
// until the test ends, and returns the address.
func serveHandshakes(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_ = c.(*tls.Conn).Handshake()
			}()
		}
	}()
	return ln.Addr().String()
}
