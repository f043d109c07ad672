package server

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/hardgate/hardgate/internal/gateway/config"
)

// BenchmarkIngest measures authenticated HTTPS ingest with a durable 202
// over loopback, with parallel clients.
func BenchmarkIngest(b *testing.B) {
	f := startFixture(b, func(c *config.Config) { c.Limits.RatePerDevice = 0 })
	body := []byte(`{"device":"bench-1","ts":"2026-01-02T03:04:05.678Z","seq":123456,"site":"plant-7/line-3","readings":{"temperature_c":21.53,"humidity_pct":40.2,"pressure_hpa":1013.25,"vibration_mm_s":0.82,"current_a":3.91},"status":"ok","firmware":"2.14.3","battery_pct":87,"tags":["bench","loopback","hardgate"]}`)
	// HTTP/1.1 with keep-alive, as wrk and most device clients use.
	tr := &http.Transport{TLSClientConfig: f.pki.ClientTLS(), MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	f.client = &http.Client{Transport: tr}
	b.SetParallelism(25)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, f.base+PathIngest, bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+f.token)
			resp, err := f.client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 202 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}
