package controls

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/hardgate/hardgate/internal/probe/httpprobe"
)

// tlsPortAnswers are what TLS servers answer a plain HTTP request with
// (status 400): Go's net/http and nginx.
var tlsPortAnswers = []string{
	"client sent an http request to an https server",
	"the plain http request was sent to https port",
}

// atTLSPort reports whether a plain http:// request was answered the way a
// TLS port answers plain HTTP: the URL names the wrong scheme, and the
// answer says nothing about the gateway's transport or authentication.
func atTLSPort(o *httpprobe.Observation) bool {
	if !o.Responded() || o.StatusCode != 400 || !strings.HasPrefix(o.Exchange.URL, "http://") {
		return false
	}
	body := strings.ToLower(o.Exchange.BodyExcerpt)
	for _, a := range tlsPortAnswers {
		if strings.Contains(body, a) {
			return true
		}
	}
	return false
}

// tlsPortReason says what atTLSPort saw and what to audit instead.
func tlsPortReason(o *httpprobe.Observation) string {
	suggest := "the https:// URL"
	if u, err := url.Parse(o.Exchange.URL); err == nil {
		u.Scheme = "https"
		suggest = u.String()
	}
	return fmt.Sprintf("the port speaks TLS (it answered plain HTTP with 400 %q); audit %s instead",
		"HTTP request to an HTTPS server", suggest)
}
