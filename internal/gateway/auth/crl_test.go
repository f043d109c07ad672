package auth

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/pki"
)

func newCRL(t testing.TB, ca *pki.CA, revoked ...*x509.Certificate) []byte {
	t.Helper()
	now := time.Now()
	tmpl := &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(time.Hour)}
	for _, c := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: now})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.Cert, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func issue(t testing.TB, ca *pki.CA, name string) *x509.Certificate {
	t.Helper()
	leaf, err := ca.Issue([]string{name}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, err := leaf.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return c.Leaf
}

func TestParseCRL(t *testing.T) {
	ca, err := pki.NewCA("device CA", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.NewCA("other CA", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	revoked, kept := issue(t, ca, "sensor-1"), issue(t, ca, "sensor-2")
	sameSerialOtherCA := issue(t, other, "sensor-3")
	sameSerialOtherCA.SerialNumber = revoked.SerialNumber
	der := newCRL(t, ca, revoked)
	pemCRL := pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
	two := append(append([]byte{}, pemCRL...), pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: newCRL(t, other)})...)
	tests := []struct {
		name string
		data []byte
		cas  []*x509.Certificate
		want string // error substring; "" for success
	}{
		{"a PEM list signed by the CA is read", pemCRL, []*x509.Certificate{ca.Cert}, ""},
		{"a DER list signed by the CA is read", der, []*x509.Certificate{ca.Cert}, ""},
		{"two lists of two CAs are read", two, []*x509.Certificate{ca.Cert, other.Cert}, ""},
		{"a list of another CA is refused", pemCRL, []*x509.Certificate{other.Cert}, "not signed by a CA"},
		{"a second list of an unknown CA is refused", two, []*x509.Certificate{ca.Cert}, "CRL 2"},
		{"a certificate block is refused", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), nil, "want X509 CRL"},
		{"garbage is refused", []byte("not a list"), nil, "CRL 1"},
		{"an empty PEM file is refused", []byte("-----BEGIN nothing"), nil, "no CRL found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crl, err := ParseCRL(tt.data, tt.cas)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("ParseCRL error = %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !crl.Revoked(revoked) || crl.Revoked(kept) || crl.Revoked(sameSerialOtherCA) {
				t.Fatalf("revoked %v, kept %v, same serial of another CA %v; want true, false, false",
					crl.Revoked(revoked), crl.Revoked(kept), crl.Revoked(sameSerialOtherCA))
			}
			if crl.Len() != 1 || crl.NextUpdate().IsZero() {
				t.Fatalf("Len %d, NextUpdate %s", crl.Len(), crl.NextUpdate())
			}
		})
	}
}

func FuzzParseCRL(f *testing.F) {
	ca, err := pki.NewCA("device CA", time.Now(), time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	der := newCRL(f, ca, issue(f, ca, "x"))
	f.Add(der)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))
	f.Add([]byte("-----BEGIN X509 CRL-----\n-----END X509 CRL-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		crl, err := ParseCRL(data, []*x509.Certificate{ca.Cert})
		if err == nil && crl == nil {
			t.Fatal("nil list without an error")
		}
	})
}
