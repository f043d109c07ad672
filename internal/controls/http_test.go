package controls

import (
	"errors"
	"testing"

	"github.com/hardgate/hardgate/internal/probe/httpprobe"
	"github.com/hardgate/hardgate/internal/probe/neterr"
	"github.com/hardgate/hardgate/internal/result"
)

func TestOneHTTPClassificationForEveryControl(t *testing.T) {
	t.Parallel()
	answered := func(code int, location string) *httpprobe.Observation {
		o := &httpprobe.Observation{StatusCode: code, Exchange: result.HTTPExchange{ResponseHeaders: map[string]string{}}}
		if location != "" {
			o.Exchange.ResponseHeaders["Location"] = location
		}
		return o
	}
	const base = "https://127.0.0.1:8443/v1/ingest"
	tests := []struct {
		name      string
		obs       *httpprobe.Observation
		want      httpClass
		offTLS    bool
		redirects bool
	}{
		{"no response is no answer", &httpprobe.Observation{Err: errors.New("refused"), ErrKind: neterr.Refused}, httpNoAnswer, false, false},
		{"202 is success", answered(202, ""), httpSuccess, false, false},
		{"401 is an authentication refusal", answered(401, ""), httpAuthRefused, false, false},
		{"403 is an authentication refusal", answered(403, ""), httpAuthRefused, false, false},
		{"308 to https on the same host stays on TLS", answered(308, "https://127.0.0.1:8444/v2/ingest"), httpRedirect, false, true},
		{"a relative redirect stays on TLS", answered(307, "/v2/ingest"), httpRedirect, false, true},
		{"302 to http leaves TLS", answered(302, "http://127.0.0.1:8080/"), httpRedirect, true, true},
		{"307 to another host leaves the gateway", answered(307, "https://collector.example/v1/ingest"), httpRedirect, true, true},
		{"a scheme-relative redirect to another host leaves the gateway", answered(307, "//collector.example/v1/ingest"), httpRedirect, true, true},
		{"a redirect without a parsable Location is still a redirect, judged by nobody", answered(301, "http://[::1"), httpRedirect, false, true},
		{"500 is another answer", answered(500, ""), httpOther, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classifyHTTP(tt.obs); got != tt.want {
				t.Errorf("class %d, want %d", got, tt.want)
			}
			if got := offTLSRedirect(base, tt.obs) != ""; got != tt.offTLS {
				t.Errorf("off TLS %v, want %v", got, tt.offTLS)
			}
			if _, _, ok := redirectTarget(tt.obs); ok != tt.redirects {
				t.Errorf("redirect %v, want %v", ok, tt.redirects)
			}
		})
	}
}
