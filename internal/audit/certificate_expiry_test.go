package audit

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/pki"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/scoring"
	"github.com/hardgate/hardgate/internal/spec"
)

// expiredEndpoint serves TLS handshakes with a certificate from a trusted
// CA, for the right host, that expired yesterday; it returns the address
// and the CA file.
func expiredEndpoint(t *testing.T) (string, string) {
	t.Helper()
	now := time.Now()
	ca, err := pki.NewCA("expiry CA", now.Add(-90*24*time.Hour), 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue([]string{"127.0.0.1"}, now.Add(-30*24*time.Hour), 29*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := leaf.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return serveHandshakes(t, &tls.Config{Certificates: []tls.Certificate{cert}}), caFile
}

// TestAnExpiredCertificateIsOneFinding: the expired certificate fails
// certificate_expired only; certificate_expiring_soon leaves it to that
// control, so the risk score counts the defect once.
func TestAnExpiredCertificateIsOneFinding(t *testing.T) {
	addr, caFile := expiredEndpoint(t)
	res := mustRun(t, &spec.Target{Name: "expired", Ingest: spec.Ingest{CAFile: caFile}, TLS: spec.TLS{Addresses: []string{addr}}})
	wantStatus(t, res, map[string]result.Status{
		"transport_tls.certificate_expired":       result.StatusFail,
		"transport_tls.certificate_expiring_soon": result.StatusNotApplicable,
		"transport_tls.certificate_untrusted":     result.StatusPass,
		"transport_tls.hostname_mismatch":         result.StatusPass,
	})
	if r := control(t, res, "transport_tls.certificate_expiring_soon").Reason; !strings.Contains(r, "certificate_expired") {
		t.Errorf("certificate_expiring_soon reason %q does not point at certificate_expired", r)
	}
	var ids []string
	for _, f := range res.Findings {
		ids = append(ids, f.ID)
	}
	if len(ids) != 1 || ids[0] != "transport_tls.certificate_expired" {
		t.Fatalf("findings %v, want exactly [transport_tls.certificate_expired]", ids)
	}
	if want := scoring.SeverityWeights[res.Findings[0].Severity]; res.Summary.RiskScore != want {
		t.Errorf("risk score %d, want %d (the one expired certificate, counted once)", res.Summary.RiskScore, want)
	}
}
