package server

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/queue"
)

// metrics are ingestd's own Prometheus series. The dispatcher registers the
// forward results itself.
type metrics struct {
	requests  *prometheus.CounterVec
	accepted  prometheus.Counter // requests{handler="ingest",code="202"}, the hot path
	bodyBytes prometheus.Counter
	records   prometheus.Counter
	appendDur prometheus.Histogram
	unsafe    *prometheus.GaugeVec
	tokens    prometheus.Gauge

	replays        prometheus.Counter
	connsOpen      prometheus.Gauge
	connsWaited    prometheus.Counter
	connsShed      prometheus.Counter
	headerTimeouts prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, version string, stats func() (queue.Stats, bool)) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ingestd_http_requests_total",
			Help: "HTTP requests by handler and status code.",
		}, []string{"handler", "code"}),
		bodyBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ingestd_ingest_bytes_total",
			Help: "Bytes of accepted ingest payloads after decompression and normalisation.",
		}),
		records: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ingestd_ingest_records_total",
			Help: "Records in accepted (durably stored) batches.",
		}),
		appendDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ingestd_queue_append_duration_seconds",
			Help:    "Time for a batch to be committed and fsynced to the local queue (group commit).",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		unsafe: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ingestd_unsafe_setting",
			Help: "1 for each unsafe setting in force (absent when announcements are silenced).",
		}, []string{"setting", "field"}),
		tokens: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ingestd_tokens",
			Help: "Device tokens loaded from auth.tokens_file.",
		}),
		replays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ingestd_ingest_idempotent_replays_total",
			Help: "Ingest requests answered with the receipt of an earlier request under the same Idempotency-Key (nothing stored).",
		}),
		connsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ingestd_connections_open",
			Help: "Client connections open, on every listener (at most limits.max_connections).",
		}),
		connsWaited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ingestd_connections_waited_total",
			Help: "Client connections that arrived while limits.max_connections were open and waited for a slot (the others wait in the kernel's accept queue).",
		}),
		connsShed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ingestd_connections_idle_closed_total",
			Help: "Idle keep-alive connections closed to make room for a new one at limits.max_connections.",
		}),
		headerTimeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ingestd_http2_header_timeouts_total",
			Help: "HTTP/2 connections closed because a header block did not arrive within the header timeout.",
		}),
	}
	m.accepted = m.requests.WithLabelValues("ingest", "202")
	stat := func(f func(queue.Stats) float64) func() float64 {
		return func() float64 {
			s, ok := stats()
			if !ok {
				return 0
			}
			return f(s)
		}
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "ingestd_build_info",
		Help:        "Build information; the value is always 1.",
		ConstLabels: prometheus.Labels{"version": version},
	})
	build.Set(1)
	cs := []prometheus.Collector{
		m.requests, m.bodyBytes, m.records, m.appendDur, m.unsafe, m.tokens, build,
		m.replays, m.connsOpen, m.connsWaited, m.connsShed, m.headerTimeouts,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ingestd_queue_batches", Help: "Batches waiting in the local queue.",
		}, stat(func(s queue.Stats) float64 { return float64(s.Batches) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ingestd_queue_bytes", Help: "Payload bytes waiting in the local queue.",
		}, stat(func(s queue.Stats) float64 { return float64(s.Bytes) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ingestd_queue_max_bytes", Help: "Bound of the local queue (store.max_bytes).",
		}, stat(func(s queue.Stats) float64 { return float64(s.MaxBytes) })),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// announce sets the unsafe-setting gauge for each setting.
func (m *metrics) announce(settings []config.UnsafeSetting) {
	for _, s := range settings {
		m.unsafe.WithLabelValues(s.Name, s.Field).Set(1)
	}
}

func (m *metrics) request(handler string, code int) {
	m.requests.WithLabelValues(handler, strconv.Itoa(code)).Inc()
}
