package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hardgate/hardgate/internal/gateway/config"
)

// benchBody is bench/ingestd's ~300-byte JSON document.
const benchBody = `{"device":"bench-1","ts":"2026-01-02T03:04:05.678Z","seq":123456,"site":"plant-7/line-3","readings":{"temperature_c":21.53,"humidity_pct":40.2,"pressure_hpa":1013.25,"vibration_mm_s":0.82,"current_a":3.91},"status":"ok","firmware":"2.14.3","battery_pct":87,"tags":["bench","loopback","hardgate"]}`

// ingestRequest is an authenticated POST of body, as net/http hands it to
// the handler.
func ingestRequest(token, body string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, PathIngest, bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	return req
}

// BenchmarkIngestHandler runs the ingest handler (auth, validation,
// durable append, receipt) without TLS and HTTP parsing, 50 requests at a
// time, the shape of bench/ingestd.
func BenchmarkIngestHandler(b *testing.B) {
	f := startFixture(b, func(c *config.Config) { c.Limits.RatePerDevice = 0 })
	b.ReportAllocs()
	b.SetParallelism(25)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			f.srv.handler.ServeHTTP(rec, ingestRequest(f.token, benchBody))
			if rec.Code != http.StatusAccepted {
				b.Errorf("status %d: %s", rec.Code, rec.Body)
				return
			}
		}
	})
}
