package tlsscan

import (
	"crypto/x509"
	"net"
	"testing"
	"time"
)

func TestAnalyzeChain(t *testing.T) {
	ca := newTestCA(t)
	other := newTestCA(t)
	now := time.Now()
	day := 24 * time.Hour
	loop := []net.IP{net.IPv4(127, 0, 0, 1)}
	tests := []struct {
		name   string
		ca     *testCA // issuer; nil self-signs
		opts   leafOpts
		roots  *testCA
		server string
		check  func(t *testing.T, r CertReport)
	}{
		{
			name: "a CA-signed ECDSA certificate with the IP in its SANs is trusted and matches",
			ca:   ca, roots: ca, server: "127.0.0.1",
			opts: leafOpts{ips: loop},
			check: func(t *testing.T, r CertReport) {
				if !r.Trusted || r.TrustAnchor != "ca_file" || !r.HostnameMatch || !r.HasSAN || r.SelfSigned || r.KeyType != "ECDSA" || r.KeyBits != 256 {
					t.Errorf("%+v", r)
				}
			},
		},
		{
			name: "a certificate from another CA is untrusted",
			ca:   other, roots: ca, server: "127.0.0.1",
			opts: leafOpts{ips: loop},
			check: func(t *testing.T, r CertReport) {
				if r.Trusted || r.VerifyError == "" {
					t.Errorf("%+v", r)
				}
			},
		},
		{
			name:  "a self-signed RSA-1024 SHA-1 certificate without SAN reports its trust, key, signature and names as they are",
			roots: ca, server: "127.0.0.1",
			opts: leafOpts{key: "rsa1024", sig: x509.SHA1WithRSA, cn: "127.0.0.1", notAfter: now.Add(5 * day)},
			check: func(t *testing.T, r CertReport) {
				if r.Trusted || !r.SelfSigned || r.HasSAN || r.HostnameMatch || r.KeyBits != 1024 || r.KeyType != "RSA" || r.DaysLeft < 4 || r.DaysLeft > 5 || r.Expired {
					t.Errorf("%+v", r)
				}
				if r.SignatureAlgorithm != "SHA1-RSA" {
					t.Errorf("signature %q", r.SignatureAlgorithm)
				}
			},
		},
		{
			name: "an expired certificate is expired but its chain is still trusted",
			ca:   ca, roots: ca, server: "127.0.0.1",
			opts: leafOpts{ips: loop, notBefore: now.Add(-30 * day), notAfter: now.Add(-2 * day)},
			check: func(t *testing.T, r CertReport) {
				if !r.Expired || !r.Trusted || r.DaysLeft >= 0 {
					t.Errorf("%+v", r)
				}
			},
		},
		{
			name: "a certificate not yet valid is reported as such",
			ca:   ca, roots: ca, server: "127.0.0.1",
			opts: leafOpts{ips: loop, notBefore: now.Add(2 * day), notAfter: now.Add(90 * day)},
			check: func(t *testing.T, r CertReport) {
				if !r.NotYetValid || r.Expired {
					t.Errorf("%+v", r)
				}
			},
		},
		{
			name: "a name absent from the SANs is a hostname mismatch",
			ca:   ca, roots: ca, server: "gateway.example",
			opts: leafOpts{dnsNames: []string{"other.example"}},
			check: func(t *testing.T, r CertReport) {
				if r.HostnameMatch || r.HostnameError == "" || !r.HasSAN {
					t.Errorf("%+v", r)
				}
			},
		},
		{
			name: "a certificate with 60 days left reports 59 or 60 whole days left",
			ca:   ca, roots: ca, server: "127.0.0.1",
			opts: leafOpts{ips: loop, notAfter: now.Add(60 * day)},
			check: func(t *testing.T, r CertReport) {
				if r.DaysLeft < 59 || r.DaysLeft > 60 {
					t.Errorf("%+v", r)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf := issue(t, tt.ca, tt.opts)
			r := AnalyzeChain([]*x509.Certificate{leaf.Leaf}, ChainOptions{
				ServerName: tt.server, Roots: tt.roots.pool(), Now: now,
			})
			if r.Error != "" {
				t.Fatalf("error %s", r.Error)
			}
			tt.check(t, r)
		})
	}
}

func TestAnalyzeChainWithoutCertificatesIsAnError(t *testing.T) {
	if r := AnalyzeChain(nil, ChainOptions{}); r.Error == "" {
		t.Fatalf("no error for an empty chain: %+v", r)
	}
}

// FuzzParseCertificate feeds a Certificate handshake body, as a server
// would send it, through parsing and analysis.
func FuzzParseCertificate(f *testing.F) {
	ca := newTestCA(f)
	leaf := issue(f, ca, leafOpts{ips: []net.IP{net.IPv4(127, 0, 0, 1)}})
	der := leaf.Certificate[0]
	body := []byte{byte((len(der) + 3) >> 16), byte((len(der) + 3) >> 8), byte(len(der) + 3), byte(len(der) >> 16), byte(len(der) >> 8), byte(len(der))}
	f.Add(append(body, der...))
	f.Add([]byte{0, 0, 0})
	f.Add([]byte{0, 0, 4, 0, 0, 1, 0x30})
	now := time.Now()
	f.Fuzz(func(t *testing.T, b []byte) {
		ders, err := ParseCertificateMsg(b)
		if err != nil {
			return
		}
		chain, err := parseChain(ders)
		if err != nil {
			return
		}
		r := AnalyzeChain(chain, ChainOptions{ServerName: "127.0.0.1", Roots: ca.pool(), Now: now})
		_ = CertInfos(r.Chain)
	})
}
