package controls

import (
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/collect"
	"github.com/hardgate/hardgate/internal/probe/httpprobe"
	"github.com/hardgate/hardgate/internal/result"
)

func answer400(url, body string) httpprobe.Observation {
	return httpprobe.Observation{StatusCode: 400, Exchange: result.HTTPExchange{Method: "POST", URL: url, StatusCode: 400, BodyExcerpt: body}}
}

// An http:// URL pointed at a TLS port is a mistake in the target, not a
// plaintext gateway: no control fails from the TLS server's refusal.
func TestPlainHTTPAtATLSPortRaisesNoFinding(t *testing.T) {
	t.Parallel()
	const goAnswer = "Client sent an HTTP request to an HTTPS server.\n"
	const nginxAnswer = "<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>The plain HTTP request was sent to HTTPS port</center>\r\n</body>\r\n</html>\r\n"
	const url = "http://127.0.0.1:8443/v1/ingest"
	tests := []struct {
		name      string
		url, body string
		atTLS     bool
	}{
		{"Go's answer to plain HTTP on a TLS port", url, goAnswer, true},
		{"nginx's answer to plain HTTP on a TLS port", url, nginxAnswer, true},
		{"another 400 on plaintext HTTP is a plaintext answer", url, `{"error":"bad request"}`, false},
		{"the same text over https is not a scheme mistake", "https://127.0.0.1:8443/v1/ingest", goAnswer, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := &collect.Observations{Ingest: []collect.IngestObservation{{URL: tt.url, Plaintext: strings.HasPrefix(tt.url, "http:"), Unauth: answer400(tt.url, tt.body)}}}
			healthURL := strings.Replace(tt.url, "/v1/ingest", "/healthz", 1)
			health := answer400(healthURL, tt.body)
			o.Health, o.HealthURL = &health, healthURL
			if got := atTLSPort(&o.Ingest[0].Unauth); got != tt.atTLS {
				t.Fatalf("atTLSPort = %v, want %v", got, tt.atTLS)
			}
			transport := judge(t, "ingest_auth.insecure_transport", o)
			unauth := judge(t, "ingest_auth.unauthenticated_ingest_allowed", o)
			healthV := judge(t, "gateway_runtime.health_unavailable", o)
			if !tt.atTLS {
				if strings.Contains(transport.Reason+unauth.Reason+healthV.Reason, "speaks TLS") {
					t.Fatalf("a real answer was taken for a TLS port: %s / %s / %s", transport.Reason, unauth.Reason, healthV.Reason)
				}
				return
			}
			for name, v := range map[string]struct {
				status result.Status
				reason string
			}{"insecure_transport": {transport.Status, transport.Reason}, "unauthenticated_ingest_allowed": {unauth.Status, unauth.Reason}, "health_unavailable": {healthV.Status, healthV.Reason}} {
				if v.status != result.StatusError {
					t.Errorf("%s: status %s, want error (undecided, never a finding)", name, v.status)
				}
				if !strings.Contains(v.reason, "the port speaks TLS") || !strings.Contains(v.reason, "https://127.0.0.1:8443/") {
					t.Errorf("%s: reason %q does not say the port speaks TLS and suggest https://", name, v.reason)
				}
			}
		})
	}
}
