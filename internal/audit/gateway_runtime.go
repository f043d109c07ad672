package audit

import (
	"fmt"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/probe/httpprobe"
	"github.com/hardgate/hardgate/internal/report"
)

func evalHealth(o *Observations, _ *catalog.Control) Verdict {
	if o.Health == nil {
		return Verdict{Status: report.StatusNotApplicable, Reason: "no health URL is known (no ingest URL, no health_url)"}
	}
	h := o.Health
	ev := []report.Evidence{h.Evidence("health:")}
	switch {
	case h.Responded() && h.StatusCode >= 200 && h.StatusCode < 300:
		return Verdict{Status: report.StatusPass, Reason: fmt.Sprintf("GET %s answered %d", o.HealthURL, h.StatusCode), Evidence: ev}
	case h.Responded():
		return Verdict{Status: report.StatusFail, Reason: fmt.Sprintf("GET %s answered %d", o.HealthURL, h.StatusCode), Evidence: ev}
	case h.ErrKind == httpprobe.ErrRefused && ingestAnswered(o):
		return Verdict{Status: report.StatusFail, Reason: fmt.Sprintf("GET %s: connection refused, while the ingest path answered", o.HealthURL), Evidence: ev}
	case h.ErrKind == httpprobe.ErrRefused:
		// Nothing answered at all: a gateway that is down looks the same
		// as one without a health endpoint, so the audit cannot decide.
		return Verdict{Status: report.StatusError, Reason: fmt.Sprintf("GET %s: connection refused, and no ingest URL answered either: the gateway looks down", o.HealthURL), Evidence: ev}
	default:
		return Verdict{Status: report.StatusError, Reason: fmt.Sprintf("GET %s: no answer (%s)", o.HealthURL, h.ErrKind), Evidence: ev}
	}
}

// ingestAnswered reports whether any ingest URL gave an HTTP answer.
func ingestAnswered(o *Observations) bool {
	for _, in := range o.Ingest {
		if in.Unauth.Responded() {
			return true
		}
	}
	return false
}
