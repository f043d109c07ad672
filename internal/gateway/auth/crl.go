package auth

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// maxCRLBytes caps a CRL file.
const maxCRLBytes = 16 << 20

// CRL is the set of revoked client certificates read from a CRL file: one
// or more PEM "X509 CRL" blocks, or one DER CRL. Each list must be signed
// by a CA of the client CA bundle; a list that is not is refused.
type CRL struct {
	revoked    map[string]struct{} // raw issuer DN + serial bytes
	nextUpdate time.Time           // earliest NextUpdate of the lists; zero if none
	count      int
}

// Revoked reports whether cert is on the list.
func (c *CRL) Revoked(cert *x509.Certificate) bool {
	if c == nil || cert == nil || cert.SerialNumber == nil {
		return false
	}
	_, ok := c.revoked[crlKey(cert.RawIssuer, cert.SerialNumber.Bytes())]
	return ok
}

// Len is the number of revoked certificates.
func (c *CRL) Len() int { return c.count }

// NextUpdate is the earliest NextUpdate of the lists (zero when none says).
// Past it the list is stale: it stays in force, and the operator should
// fetch a fresh one.
func (c *CRL) NextUpdate() time.Time { return c.nextUpdate }

func crlKey(issuer, serial []byte) string {
	return string(issuer) + "\x00" + string(serial)
}

// LoadCRL reads the CRL file at path and checks each list's signature
// against the CA certificates in caFile (PEM).
func LoadCRL(path, caFile string) (*CRL, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read client CA: %w", err)
	}
	var cas []*x509.Certificate
	for rest := caPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse client CA: %w", err)
		}
		cas = append(cas, c)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open CRL: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCRLBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read CRL: %w", err)
	}
	if len(data) > maxCRLBytes {
		return nil, fmt.Errorf("%s: CRL file is larger than %d bytes", path, maxCRLBytes)
	}
	crl, err := ParseCRL(data, cas)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return crl, nil
}

// ParseCRL parses CRL data (PEM blocks or one DER list) and checks each
// list against cas.
func ParseCRL(data []byte, cas []*x509.Certificate) (*CRL, error) {
	var ders [][]byte
	if bytes.Contains(data, []byte("-----BEGIN")) {
		for rest := data; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if b.Type != "X509 CRL" {
				return nil, fmt.Errorf("unexpected PEM block %q: want X509 CRL", b.Type)
			}
			ders = append(ders, b.Bytes)
		}
	} else {
		ders = append(ders, data)
	}
	if len(ders) == 0 {
		return nil, errors.New("no CRL found")
	}
	c := &CRL{revoked: map[string]struct{}{}}
	for i, der := range ders {
		rl, err := x509.ParseRevocationList(der)
		if err != nil {
			return nil, fmt.Errorf("CRL %d: %w", i+1, err)
		}
		if !signedByOneOf(rl, cas) {
			return nil, fmt.Errorf("CRL %d (issuer %q): not signed by a CA of tls.client_ca_file", i+1, rl.Issuer.String())
		}
		for _, e := range rl.RevokedCertificateEntries {
			if e.SerialNumber != nil {
				c.revoked[crlKey(rl.RawIssuer, e.SerialNumber.Bytes())] = struct{}{}
			}
		}
		if !rl.NextUpdate.IsZero() && (c.nextUpdate.IsZero() || rl.NextUpdate.Before(c.nextUpdate)) {
			c.nextUpdate = rl.NextUpdate
		}
	}
	c.count = len(c.revoked)
	return c, nil
}

func signedByOneOf(rl *x509.RevocationList, cas []*x509.Certificate) bool {
	for _, ca := range cas {
		if bytes.Equal(ca.RawSubject, rl.RawIssuer) && rl.CheckSignatureFrom(ca) == nil {
			return true
		}
	}
	return false
}
