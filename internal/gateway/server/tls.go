package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/config"
)

// The security defaults of every listener, in one place. newHTTPServer is
// the only constructor of http.Server in ingestd, so no caller can skip them.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 16 << 10
)

// modernSuites are the TLS 1.2 suites ingestd offers: ECDHE key exchange
// (forward secrecy) with an AEAD cipher only. TLS 1.3 suites are always
// AEAD with forward secrecy and are not configurable in crypto/tls.
var modernSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// legacySuites are added only when tls.min_version is below 1.2 (the unsafe
// setting tls_below_1_2, which must be allowed explicitly): TLS 1.0 and 1.1
// have no AEAD suite. They still use ECDHE.
var legacySuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
}

// curves prefers the hybrid post-quantum group, then X25519 and P-256.
var curves = []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256}

func tlsVersion(v string) (uint16, error) {
	switch v {
	case "1.0":
		return tls.VersionTLS10, nil
	case "1.1":
		return tls.VersionTLS11, nil
	case "", "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("tls.min_version: unknown version %q", v)
}

// newTLSConfig builds the HTTPS listener's TLS configuration from cfg: TLS
// 1.2 minimum (1.3 negotiated whenever the client offers it), AEAD suites
// with forward secrecy, modern curves, and client certificates verified
// against tls.client_ca_file when it is set (required when auth.mode is mtls).
func newTLSConfig(cfg config.Config) (*tls.Config, error) {
	minVer, err := tlsVersion(cfg.TLS.MinVersion)
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls.cert_file/tls.key_file: load key pair: %w", err)
	}
	suites := modernSuites
	if minVer < tls.VersionTLS12 {
		suites = append(append([]uint16{}, modernSuites...), legacySuites...)
	}
	tc := &tls.Config{
		MinVersion:       minVer,
		CipherSuites:     suites,
		CurvePreferences: curves,
		Certificates:     []tls.Certificate{cert},
		NextProtos:       []string{"h2", "http/1.1"},
	}
	if cfg.TLS.ClientCAFile != "" {
		pem, err := os.ReadFile(cfg.TLS.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("tls.client_ca_file: no PEM certificate found")
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.VerifyClientCertIfGiven
		if cfg.Auth.Mode == config.AuthMTLS {
			tc.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return tc, nil
}

// newHTTPServer returns an http.Server with every timeout and the header
// size limit set. tc is nil for the plaintext listener. headerTimeout
// bounds the request headers: ReadHeaderTimeout for HTTP/1, and over TLS
// each HTTP/2 header block too (h2.go; headerExpired is called for each
// connection closed for that). Connection-level errors (failed handshakes
// from scanners, bad requests) go to logger at debug level.
func newHTTPServer(h http.Handler, tc *tls.Config, logger *slog.Logger, headerTimeout time.Duration, headerExpired func()) (*http.Server, error) {
	s := &http.Server{
		Handler:           h,
		TLSConfig:         tc,
		ReadHeaderTimeout: headerTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	if logger != nil {
		s.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelDebug)
	}
	if tc != nil {
		if err := configureHTTP2(s, headerTimeout, headerExpired); err != nil {
			return nil, fmt.Errorf("http/2: %w", err)
		}
	}
	return s, nil
}
