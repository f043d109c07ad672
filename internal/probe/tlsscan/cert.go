package tlsscan

import (
	"context"
	//lint:ignore SA1019 a scanner must still recognise (and report) the DSA keys of legacy chains.
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"
)

// CertReport is the analysis of the server's certificate chain.
type CertReport struct {
	// Chain is the chain as sent, leaf first.
	Chain []*x509.Certificate `json:"-"`
	// Trusted: the chain verifies (ignoring validity dates, which have
	// their own fields) to the target's CA file or the system roots.
	Trusted bool `json:"trusted"`
	// TrustAnchor is "ca_file" or "system" when Trusted.
	TrustAnchor string `json:"trust_anchor,omitempty"`
	// VerifyError is why the chain is not trusted.
	VerifyError string    `json:"verify_error,omitempty"`
	SelfSigned  bool      `json:"self_signed"`
	Expired     bool      `json:"expired"`
	NotYetValid bool      `json:"not_yet_valid"`
	NotAfter    time.Time `json:"not_after"`
	// DaysLeft until the leaf expires (negative once expired).
	DaysLeft int `json:"days_left"`
	// HasSAN: the leaf has a subjectAltName with at least one name or IP.
	HasSAN bool `json:"has_san"`
	// HostnameMatch: ServerName (host or IP) matches the leaf's SANs.
	HostnameMatch bool   `json:"hostname_match"`
	HostnameError string `json:"hostname_error,omitempty"`
	// KeyType is RSA, ECDSA, Ed25519 or DSA; KeyBits its size (curve size for ECDSA).
	KeyType string `json:"key_type"`
	KeyBits int    `json:"key_bits"`
	// SignatureAlgorithm of the leaf (Chain has every certificate's).
	SignatureAlgorithm string `json:"signature_algorithm"`
	OCSPStapled        bool   `json:"ocsp_stapled"`
	// Error is set when no chain could be obtained; every other field is
	// then meaningless.
	Error string `json:"error,omitempty"`
}

// ChainOptions drive AnalyzeChain.
type ChainOptions struct {
	ServerName  string
	Roots       *x509.CertPool
	SystemRoots bool
	Now         time.Time
}

// AnalyzeChain judges nothing but computes every certificate fact; how
// close to expiry is too close, and which key sizes and signature
// algorithms are weak, are the controls' to decide. An empty
// chain yields a report with Error set.
func AnalyzeChain(chain []*x509.Certificate, o ChainOptions) CertReport {
	if len(chain) == 0 {
		return CertReport{Error: "server sent no certificate"}
	}
	leaf := chain[0]
	r := CertReport{Chain: chain, NotAfter: leaf.NotAfter}
	r.KeyType, r.KeyBits = KeyInfo(leaf)
	r.SignatureAlgorithm = leaf.SignatureAlgorithm.String()
	r.SelfSigned = isSelfSigned(leaf)
	r.Expired = o.Now.After(leaf.NotAfter)
	r.NotYetValid = o.Now.Before(leaf.NotBefore)
	r.DaysLeft = int(math.Floor(leaf.NotAfter.Sub(o.Now).Hours() / 24))
	r.HasSAN = len(leaf.DNSNames)+len(leaf.IPAddresses) > 0
	if o.ServerName != "" {
		if err := leaf.VerifyHostname(o.ServerName); err != nil {
			r.HostnameError = err.Error()
		} else {
			r.HostnameMatch = true
		}
	} else {
		r.HostnameError = "no server name to check"
	}
	r.Trusted, r.TrustAnchor, r.VerifyError = verifyTrust(chain, o)
	return r
}

// verifyTrust verifies the chain against the CA file, then the system
// roots, at a time inside every certificate's validity so that expiry is
// reported on its own and not as distrust.
func verifyTrust(chain []*x509.Certificate, o ChainOptions) (bool, string, string) {
	at := o.Now
	for _, c := range chain {
		if at.Before(c.NotBefore) {
			at = c.NotBefore
		}
	}
	for _, c := range chain {
		if at.After(c.NotAfter) {
			at = c.NotAfter
		}
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Intermediates: inter, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	var errs []error
	if o.Roots != nil {
		opts.Roots = o.Roots
		if _, err := chain[0].Verify(opts); err == nil {
			return true, "ca_file", ""
		} else {
			errs = append(errs, fmt.Errorf("CA file: %w", err))
		}
	}
	if o.SystemRoots {
		sys, err := x509.SystemCertPool()
		if err != nil {
			errs = append(errs, fmt.Errorf("system roots: %w", err))
		} else {
			opts.Roots = sys
			if _, err := chain[0].Verify(opts); err == nil {
				return true, "system", ""
			} else {
				errs = append(errs, fmt.Errorf("system roots: %w", err))
			}
		}
	}
	if len(errs) == 0 {
		return false, "", "no trust anchor configured (no CA file, system roots disabled)"
	}
	return false, "", errors.Join(errs...).Error()
}

func isSelfSigned(c *x509.Certificate) bool {
	if string(c.RawSubject) != string(c.RawIssuer) {
		return false
	}
	return c.CheckSignatureFrom(c) == nil || c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// KeyInfo returns the public key type and size of a certificate.
func KeyInfo(c *x509.Certificate) (string, int) {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		return "ECDSA", k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return "Ed25519", 256
	case *dsa.PublicKey:
		return "DSA", k.P.BitLen()
	}
	return c.PublicKeyAlgorithm.String(), 0
}

// CertSHA256 is the hex SHA-256 of a certificate's DER.
func CertSHA256(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// ParseChain parses DER certificates (leaf first), as read from a
// Certificate handshake message.
func parseChain(ders [][]byte) ([]*x509.Certificate, error) {
	chain := make([]*x509.Certificate, 0, len(ders))
	for i, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("parse certificate %d: %w", i, err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, errors.New("server sent an empty certificate list")
	}
	return chain, nil
}

// fetchChain gets the chain (and any stapled OCSP response) with crypto/tls
// and no verification; verification is done by AnalyzeChain.
func (s *scanner) fetchChain(ctx context.Context) ([]*x509.Certificate, bool, error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	defer func() { <-s.sem }()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.HandshakeTimeout)
	defer cancel()
	conn, err := s.cfg.Dial(ctx, "tcp", s.cfg.Address)
	if err != nil {
		return nil, false, fmt.Errorf("dial %s: %w", s.cfg.Address, err)
	}
	defer conn.Close()
	var ids []uint16
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		ids = append(ids, cs.ID)
	}
	tc := tls.Client(conn, &tls.Config{
		ServerName:         s.sni(),
		InsecureSkipVerify: true, //nolint:gosec // the chain is verified by AnalyzeChain, separately from expiry and hostname.
		MinVersion:         tls.VersionTLS10,
		CipherSuites:       ids,
		Time:               s.cfg.Now,
	})
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, false, fmt.Errorf("tls handshake for the certificate: %w", timeoutHint(err))
	}
	st := tc.ConnectionState()
	if len(st.PeerCertificates) == 0 {
		return nil, false, errors.New("server sent no certificate")
	}
	return st.PeerCertificates, len(st.OCSPResponse) > 0, nil
}
