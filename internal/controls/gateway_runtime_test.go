package controls

import (
	"errors"
	"testing"

	"github.com/hardgate/hardgate/internal/collect"
	"github.com/hardgate/hardgate/internal/probe/httpprobe"
	"github.com/hardgate/hardgate/internal/probe/neterr"
	"github.com/hardgate/hardgate/internal/result"
)

func TestEvalHealthDecidesOnlyWhatItSaw(t *testing.T) {
	answered := func(code int) httpprobe.Observation { return httpprobe.Observation{StatusCode: code} }
	failed := func(kind neterr.Kind) httpprobe.Observation {
		return httpprobe.Observation{Err: errors.New(string(kind)), ErrKind: kind}
	}
	ptr := func(o httpprobe.Observation) *httpprobe.Observation { return &o }
	tests := []struct {
		name   string
		health *httpprobe.Observation
		ingest []collect.IngestObservation
		want   result.Status
	}{
		{"no health URL is not applicable", nil, nil, result.StatusNotApplicable},
		{"a 200 passes", ptr(answered(200)), nil, result.StatusPass},
		{"a 503 fails", ptr(answered(503)), nil, result.StatusFail},
		{"a redirect is not followed and decides nothing (the redirect rule)", ptr(answered(302)), nil, result.StatusError},
		{"refused while the ingest path on its port answered fails", ptr(failed(neterr.Refused)), []collect.IngestObservation{{URL: "http://127.0.0.1:1/v1/ingest", Unauth: answered(401)}}, result.StatusFail},
		{"refused on a separate health port while ingest answered fails", ptr(failed(neterr.Refused)), []collect.IngestObservation{{URL: "https://127.0.0.1:8443/v1/ingest", Unauth: answered(401)}}, result.StatusFail},
		{"refused while the ingest URL on the health port is down too cannot decide, whatever else answered", ptr(failed(neterr.Refused)), []collect.IngestObservation{
			{URL: "http://127.0.0.1:1/v1/ingest", Unauth: failed(neterr.Refused)},
			{URL: "http://127.0.0.1:8080/v1/ingest", Unauth: answered(202)},
		}, result.StatusError},
		{"refused while nothing answered cannot decide", ptr(failed(neterr.Refused)), []collect.IngestObservation{{Unauth: failed(neterr.Refused)}}, result.StatusError},
		{"refused with no ingest URL cannot decide", ptr(failed(neterr.Refused)), nil, result.StatusError},
		{"a timeout cannot decide", ptr(failed(neterr.Timeout)), []collect.IngestObservation{{Unauth: answered(401)}}, result.StatusError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &collect.Observations{Health: tt.health, HealthURL: "http://127.0.0.1:1/healthz", Ingest: tt.ingest}
			if got := evalHealth(o, nil); got.Status != tt.want {
				t.Fatalf("status %s (%s), want %s", got.Status, got.Reason, tt.want)
			}
		})
	}
}
