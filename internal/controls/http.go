package controls

import (
	"net/url"

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
