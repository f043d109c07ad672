package audit

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

// TestARedirectDecidesNothingInAnyControl: a gateway that redirects every
// request within its own https origin gets the same judgment from every
// control that asks whether a request was accepted, refused or healthy:
// undecided, never pass and never fail (docs/controls.md, Redirects).
func TestARedirectDecidesNothingInAnyControl(t *testing.T) {
	srv, caFile := tlsGateway(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/v2"+r.URL.Path, http.StatusPermanentRedirect)
	}))
	t.Setenv("HG_TEST_TOKEN", testToken)
	res := mustRun(t, &spec.Target{Ingest: spec.Ingest{URLs: []string{srv.URL + "/v1/ingest"}, CAFile: caFile, TokenEnv: "HG_TEST_TOKEN"}})
	wantStatus(t, res, map[string]result.Status{
		"ingest_auth.unauthenticated_ingest_allowed": result.StatusError,
		"ingest_auth.invalid_token_accepted":         result.StatusError,
		"ingest_auth.authenticated_ingest_rejected":  result.StatusError,
		"gateway_runtime.health_unavailable":         result.StatusError,
		// Same origin, still TLS: the redirect itself is no transport finding.
		"ingest_auth.insecure_transport": result.StatusPass,
	})
	for _, id := range []string{"ingest_auth.unauthenticated_ingest_allowed", "ingest_auth.invalid_token_accepted", "ingest_auth.authenticated_ingest_rejected", "gateway_runtime.health_unavailable"} {
		if r := control(t, res, id).Reason; !strings.Contains(r, "redirects are not followed and decide nothing") {
			t.Errorf("%s reason %q does not state the redirect rule", id, r)
		}
	}
}
