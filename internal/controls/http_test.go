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
	tests := []struct {
		name      string
		obs       *httpprobe.Observation
		want      httpClass
		httpsHop  bool
		redirects bool
	}{
		{"no response is no answer", &httpprobe.Observation{Err: errors.New("refused"), ErrKind: neterr.Refused}, httpNoAnswer, false, false},
		{"202 is success", answered(202, ""), httpSuccess, false, false},
		{"401 is an authentication refusal", answered(401, ""), httpAuthRefused, false, false},
		{"403 is an authentication refusal", answered(403, ""), httpAuthRefused, false, false},
		{"308 to https is a redirect to HTTPS", answered(308, "https://127.0.0.1:8443/v1/ingest"), httpRedirect, true, true},
		{"302 to http is a redirect, not to HTTPS", answered(302, "http://127.0.0.1:8080/"), httpRedirect, false, true},
		{"a redirect without a parsable Location is still a redirect", answered(301, "http://[::1"), httpRedirect, false, true},
		{"500 is another answer", answered(500, ""), httpOther, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classifyHTTP(tt.obs); got != tt.want {
				t.Errorf("class %d, want %d", got, tt.want)
			}
			if got := isHTTPSRedirect(tt.obs); got != tt.httpsHop {
				t.Errorf("HTTPS redirect %v, want %v", got, tt.httpsHop)
			}
			if _, _, ok := redirectTarget(tt.obs); ok != tt.redirects {
				t.Errorf("redirect %v, want %v", ok, tt.redirects)
			}
		})
	}
}
