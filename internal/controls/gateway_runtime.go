package controls

import (
	"fmt"
	"net"
	"net/url"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/collect"
	"github.com/hardgate/hardgate/internal/probe/neterr"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/scoring"
)

func evalHealth(o *collect.Observations, _ *catalog.Control) scoring.Verdict {
	if o.Health == nil {
		return scoring.Verdict{Status: result.StatusNotApplicable, Reason: "no health URL is known (no ingest URL, no health_url)"}
	}
	h := o.Health
	ev := []result.Evidence{h.Evidence("health:")}
	switch class := classifyHTTP(h); {
	case class == httpSuccess:
		return scoring.Verdict{Status: result.StatusPass, Reason: fmt.Sprintf("GET %s answered %d", o.HealthURL, h.StatusCode), Evidence: ev}
	case class == httpRedirect:
		// The redirect rule: not followed, so neither healthy nor not.
		return scoring.Verdict{Status: result.StatusError, Reason: fmt.Sprintf("GET %s: %s", o.HealthURL, redirectUndecided(h)), Evidence: ev}
	case class != httpNoAnswer:
		// Any other answer is not a healthy one.
		return scoring.Verdict{Status: result.StatusFail, Reason: fmt.Sprintf("GET %s answered %d", o.HealthURL, h.StatusCode), Evidence: ev}
	case h.ErrKind == neterr.Refused && ingestAnswered(o):
		return scoring.Verdict{Status: result.StatusFail, Reason: fmt.Sprintf("GET %s: connection refused, while the ingest path answered", o.HealthURL), Evidence: ev}
	case h.ErrKind == neterr.Refused:
		// Nothing answered at all: a gateway that is down looks the same
		// as one without a health endpoint, so the audit cannot decide.
		return scoring.Verdict{Status: result.StatusError, Reason: fmt.Sprintf("GET %s: connection refused, and no ingest URL answered either: the gateway looks down", o.HealthURL), Evidence: ev}
	default:
		return scoring.Verdict{Status: result.StatusError, Reason: fmt.Sprintf("GET %s: no answer (%s)", o.HealthURL, h.ErrKind), Evidence: ev}
	}
}

// ingestAnswered reports whether the gateway is up: an ingest URL on the
// health URL's own host and port answered, or, when no ingest URL shares
// it (a separate health listener), any ingest URL answered. So a TLS
// listener that is down is not blamed on the health endpoint because the
// plaintext one answered.
func ingestAnswered(o *collect.Observations) bool {
	hostPort := func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil {
			return ""
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		return net.JoinHostPort(u.Hostname(), port)
	}
	health := hostPort(o.HealthURL)
	shared, answered := false, false
	for _, in := range o.Ingest {
		same := health != "" && hostPort(in.URL) == health
		shared = shared || same
		if in.Unauth.Responded() {
			answered = true
			if same {
				return true
			}
		}
	}
	return !shared && answered
}
