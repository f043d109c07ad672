package server

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/server/testcert"
)

// mtlsPost sends one ingest POST over a new connection with cert and
// returns the status, or an error for a refused handshake.
func mtlsPost(t *testing.T, pki *testcert.PKI, addr string, cert tls.Certificate) (int, error) {
	t.Helper()
	tc := pki.ClientTLS()
	tc.Certificates = []tls.Certificate{cert}
	tr := &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Post("https://"+addr+PathIngest, "application/json", strings.NewReader(sample))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestCRLRefusesRevokedCertificatesAndReloads(t *testing.T) {
	now := time.Now()
	var pki *testcert.PKI
	crlPath := ""
	f := startFixture(t, func(c *config.Config) {
		pki = mustPKI(t, filepath.Dir(c.TLS.CertFile))
		c.TLS.CertFile, c.TLS.KeyFile = pki.CertFile, pki.KeyFile
		c.Auth.Mode = config.AuthMTLS
		c.TLS.ClientCAFile = pki.CAFile
		crlPath = filepath.Join(filepath.Dir(c.TLS.CertFile), "clients.crl")
		c.Auth.CRLFile = crlPath
		if err := pki.WriteCRL(crlPath, now, 24*time.Hour); err != nil {
			t.Fatal(err)
		}
	})
	f.pki = pki
	good, err := pki.ClientCert("sensor-good", now)
	if err != nil {
		t.Fatal(err)
	}
	tc := pki.ClientTLS()
	tc.Certificates = []tls.Certificate{good}
	tr := &http.Transport{TLSClientConfig: tc}
	t.Cleanup(tr.CloseIdleConnections)
	f.client = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	bad, err := pki.ClientCert("sensor-bad", now)
	if err != nil {
		t.Fatal(err)
	}
	addr := f.srv.HTTPSAddr()
	for name, cert := range map[string]tls.Certificate{"good": good, "bad": bad} {
		if code, err := mtlsPost(t, pki, addr, cert); err != nil || code != 202 {
			t.Fatalf("%s certificate before revocation: %d, %v", name, code, err)
		}
	}
	if err := pki.WriteCRL(crlPath, now, 24*time.Hour, bad.Leaf); err != nil {
		t.Fatal(err)
	}
	if _, err := mtlsPost(t, pki, addr, bad); err != nil {
		t.Fatalf("the list changed on disk but no SIGHUP yet: %v", err)
	}
	if err := f.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	if code, err := mtlsPost(t, pki, addr, bad); err == nil {
		t.Fatalf("a revoked certificate after reload: %d, want a refused handshake", code)
	}
	if code, err := mtlsPost(t, pki, addr, good); err != nil || code != 202 {
		t.Fatalf("a good certificate after reload: %d, %v", code, err)
	}
	t.Run("a broken list keeps the previous one", func(t *testing.T) {
		if err := os.WriteFile(crlPath, []byte("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := f.srv.Reload(); err == nil {
			t.Fatal("a broken CRL reloaded")
		}
		if _, err := mtlsPost(t, pki, addr, bad); err == nil {
			t.Fatal("the revoked certificate works again after a failed reload")
		}
	})
	body := string(f.do(t, http.MethodGet, PathMetrics, nil, nil).body)
	for _, want := range []string{
		fmt.Sprintf(`ingestd_auth_client_cert_expiry_timestamp_seconds{device="sensor-good"} %v`, float64(good.Leaf.NotAfter.Unix())),
		`ingestd_auth_verifications_total{method="mtls",result="revoked"} 2`,
		`ingestd_auth_verifications_total{method="mtls",result="ok"} 4`,
		`ingestd_auth_crl_revoked 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(body, "ingestd_auth_"))
		}
	}
}

func mustPKI(t *testing.T, dir string) *testcert.PKI {
	t.Helper()
	pki, err := testcert.New(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return pki
}

func TestCRLFromAnotherCAIsRefusedAtStart(t *testing.T) {
	cfg, pki, _ := baseConfig(t)
	cfg.Auth.Mode = config.AuthMTLS
	cfg.TLS.ClientCAFile = pki.CAFile
	other := mustPKI(t, t.TempDir())
	cfg.Auth.CRLFile = filepath.Join(t.TempDir(), "other.crl")
	if err := other.WriteCRL(cfg.Auth.CRLFile, time.Now(), time.Hour); err != nil {
		t.Fatal(err)
	}
	_, err := New(cfg, Options{})
	if err == nil || !strings.Contains(err.Error(), "auth.crl_file") || !strings.Contains(err.Error(), "not signed by a CA") {
		t.Fatalf("New = %v, want a refusal naming auth.crl_file", err)
	}
}
