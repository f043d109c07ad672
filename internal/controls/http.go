package controls

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/hardgate/hardgate/internal/probe/httpprobe"
)

// The HTTP status classes every HTTP control judges by: the one place
// where a status code, a redirect among them, gets its meaning.
type httpClass int

const (
	httpNoAnswer    httpClass = iota // no response (ErrKind says why)
	httpSuccess                      // 2xx
	httpRedirect                     // 3xx (never followed)
	httpAuthRefused                  // 401 or 403
	httpOther                        // any other status
)

func classifyHTTP(o *httpprobe.Observation) httpClass {
	switch c := o.StatusCode; {
	case !o.Responded():
		return httpNoAnswer
	case c >= 200 && c < 300:
		return httpSuccess
	case c >= 300 && c < 400:
		return httpRedirect
	case c == 401 || c == 403:
		return httpAuthRefused
	}
	return httpOther
}

// The redirect rule, one for every control (written in docs/controls.md):
// a redirect is never followed, and it neither serves nor refuses the
// request, so a control that asks whether a request was accepted, refused
// or answered healthy cannot decide from it (error, never pass, never
// fail). Only ingest_auth.insecure_transport judges the redirect itself:
// one from a plaintext URL (the body and the credentials already crossed
// in cleartext) and one from an https URL to http:// or to another host.

// redirectTarget is the Location of a redirect, as given and parsed (nil
// when it does not parse); ok is false for anything but a redirect.
func redirectTarget(o *httpprobe.Observation) (raw string, u *url.URL, ok bool) {
	if classifyHTTP(o) != httpRedirect {
		return "", nil, false
	}
	raw = o.Exchange.ResponseHeaders["Location"]
	u, err := url.Parse(raw)
	if err != nil {
		u = nil
	}
	return raw, u, true
}

// redirectUndecided is the reason every control gives for a redirect it
// cannot judge.
func redirectUndecided(o *httpprobe.Observation) string {
	loc, _, _ := redirectTarget(o)
	return fmt.Sprintf("redirected with %d to %q (redirects are not followed and decide nothing; point the target at the final URL)", o.StatusCode, loc)
}

// offTLSRedirect says where a redirect from the https URL base leads off
// verified TLS to the same host: to a plaintext (or other non-https) URL,
// or to another host. It is "" for anything else, a Location that does not
// parse included (that redirect is only undecided).
func offTLSRedirect(base string, o *httpprobe.Observation) string {
	raw, loc, ok := redirectTarget(o)
	b, err := url.Parse(base)
	if !ok || loc == nil || err != nil {
		return ""
	}
	to := b.ResolveReference(loc)
	switch {
	case to.Scheme != "https":
		return fmt.Sprintf("redirects ingest (%d) to %q, off TLS: a device that follows it sends its body and credentials in cleartext", o.StatusCode, raw)
	case !strings.EqualFold(to.Hostname(), b.Hostname()):
		return fmt.Sprintf("redirects ingest (%d) to another host, %q: a device that follows it sends its body and credentials there", o.StatusCode, raw)
	}
	return ""
}
