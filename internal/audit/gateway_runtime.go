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
	case h.ErrKind == httpprobe.ErrRefused:
		return Verdict{Status: report.StatusFail, Reason: fmt.Sprintf("GET %s: connection refused", o.HealthURL), Evidence: ev}
	default:
		return Verdict{Status: report.StatusError, Reason: fmt.Sprintf("GET %s: no answer (%s)", o.HealthURL, h.ErrKind), Evidence: ev}
	}
}
