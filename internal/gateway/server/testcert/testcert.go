// Package testcert lays out a throwaway PKI for ingestd's tests: a CA, a
// loopback server certificate and device client certificates, as PEM files
// in one directory, so that no key is ever committed. The certificates come
// from internal/pki (ECDSA P-256; keys written with mode 0600).
package testcert

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/hardgate/hardgate/internal/pki"
)

// PKI is a generated CA with a server certificate for 127.0.0.1, ::1 and
// localhost, all as PEM files in one directory.
type PKI struct {
	// Dir holds the files.
	Dir string
	// CAFile is the CA certificate (the trust anchor for clients).
	CAFile string
	// CertFile and KeyFile are the server's certificate and key.
	CertFile, KeyFile string
	// Pool holds the CA certificate.
	Pool *x509.CertPool

	ca *pki.CA
}

// lifetime is how long the test certificates are valid.
const lifetime = 24 * time.Hour

// New writes a fresh PKI into dir, valid from now-1h to now+24h.
func New(dir string, now time.Time) (*PKI, error) {
	ca, err := pki.NewCA("hardgate test CA", now, lifetime)
	if err != nil {
		return nil, err
	}
	p := &PKI{
		Dir: dir, CAFile: filepath.Join(dir, "ca.pem"),
		CertFile: filepath.Join(dir, "server.pem"), KeyFile: filepath.Join(dir, "server-key.pem"),
		Pool: ca.Pool(), ca: ca,
	}
	if err := os.WriteFile(p.CAFile, ca.CertPEM, 0o644); err != nil {
		return nil, err
	}
	leaf, err := ca.Issue([]string{"localhost", "127.0.0.1", "::1"}, now, lifetime)
	if err != nil {
		return nil, err
	}
	if err := leaf.Write(p.CertFile, p.KeyFile); err != nil {
		return nil, err
	}
	return p, nil
}

// ClientCert issues a client certificate whose common name is device and
// returns it loaded, for mTLS tests.
func (p *PKI) ClientCert(device string, now time.Time) (tls.Certificate, error) {
	leaf, err := p.ca.Issue([]string{device}, now, lifetime)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := leaf.Write(filepath.Join(p.Dir, "client-"+device+".pem"), filepath.Join(p.Dir, "client-"+device+"-key.pem")); err != nil {
		return tls.Certificate{}, err
	}
	return leaf.TLSCertificate()
}

// ClientTLS returns a client configuration that trusts the CA.
func (p *PKI) ClientTLS() *tls.Config {
	return &tls.Config{RootCAs: p.Pool, MinVersion: tls.VersionTLS12}
}

// WriteCRL writes a PEM CRL signed by the CA, valid from now-1h to
// now+nextUpdate, that revokes certs.
func (p *PKI) WriteCRL(path string, now time.Time, nextUpdate time.Duration, certs ...*x509.Certificate) error {
	tmpl := &x509.RevocationList{
		Number:     big.NewInt(now.UnixNano()),
		ThisUpdate: now.Add(-time.Hour),
		NextUpdate: now.Add(nextUpdate),
	}
	for _, c := range certs {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
			x509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: now.Add(-time.Minute)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, p.ca.Cert, p.ca.Key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), 0o644)
}
