package serve

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hardgate/hardgate/internal/result"
)

// Metric names: the example alert rule and Grafana dashboard use them, and
// a test checks that every name they use is exported.
const (
	MetricTargetStatus    = "hardgate_target_status"
	MetricTargetRisk      = "hardgate_target_risk_score"
	MetricTargetFindings  = "hardgate_target_findings"
	MetricTargetLastAudit = "hardgate_target_last_audit_timestamp_seconds"
	MetricBaselineAge     = "hardgate_target_baseline_age_seconds"
	MetricTargetRegressed = "hardgate_target_regressed"
	MetricRegressions     = "hardgate_regressions_total"
	MetricAuditDuration   = "hardgate_audit_duration_seconds"
	MetricDriftEvents     = "hardgate_drift_events_total"
	MetricAlerts          = "hardgate_alert_deliveries_total"
)

var (
	descStatus = prometheus.NewDesc(MetricTargetStatus,
		"1 for the status (PASS, FAIL, INCONCLUSIVE) of the target's newest audit, 0 for the others.", []string{"target", "status"}, nil)
	descRisk = prometheus.NewDesc(MetricTargetRisk,
		"Risk score of the target's newest audit (0 exactly when it has no findings).", []string{"target"}, nil)
	descFindings = prometheus.NewDesc(MetricTargetFindings,
		"Findings of the target's newest audit, by severity.", []string{"target", "severity"}, nil)
	descLastAudit = prometheus.NewDesc(MetricTargetLastAudit,
		"When the target's newest audit finished (Unix seconds).", []string{"target"}, nil)
	descBaselineAge = prometheus.NewDesc(MetricBaselineAge,
		"Seconds since the target's baseline audit finished.", []string{"target"}, nil)
	descRegressed = prometheus.NewDesc(MetricTargetRegressed,
		"1 while the target's newest audit has a control regressed against its baseline.", []string{"target"}, nil)
	descRegressions = prometheus.NewDesc(MetricRegressions,
		"Regressions against the baseline (changes into the regressed state) since serve started.", []string{"target"}, nil)
)

// metrics is serve's Prometheus registry: per-target gauges read from the
// service's statuses at scrape time, and counters of what happened.
type metrics struct {
	svc         *Service
	registry    *prometheus.Registry
	durations   *prometheus.HistogramVec
	driftEvents *prometheus.CounterVec
	alerts      *prometheus.CounterVec
}

func newMetrics(s *Service) *metrics {
	m := &metrics{
		svc:      s,
		registry: prometheus.NewRegistry(),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricAuditDuration,
			Help:    "Duration of audit runs, by outcome (done, failed, cancelled).",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"outcome"}),
		driftEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricDriftEvents, Help: "Drift state changes, by alert event (regression, recovered, inconclusive).",
		}, []string{"event"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricAlerts, Help: "Webhook alert delivery attempts, by outcome (delivered, failed).",
		}, []string{"outcome"}),
	}
	m.registry.MustRegister(m, m.durations, m.driftEvents, m.alerts,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if s.webhook != nil {
		s.webhook.sent = func(outcome string) { m.alerts.WithLabelValues(outcome).Inc() }
	}
	return m
}

func (m *metrics) observeRun(outcome string, d time.Duration) {
	m.durations.WithLabelValues(outcome).Observe(d.Seconds())
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStatus, descRisk, descFindings, descLastAudit, descBaselineAge, descRegressed, descRegressions} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	now := m.svc.now()
	for _, st := range m.svc.Statuses() {
		name := st.Target.Name
		ch <- prometheus.MustNewConstMetric(descRegressions, prometheus.CounterValue, float64(st.Regressions), name)
		regressed := 0.0
		if st.Drift == StateRegressed {
			regressed = 1
		}
		gauge(descRegressed, regressed, name)
		if st.Latest == nil {
			continue
		}
		for _, status := range []string{result.AuditPass, result.AuditFail, result.AuditInconclusive} {
			v := 0.0
			if st.Latest.Status == status {
				v = 1
			}
			gauge(descStatus, v, name, status)
		}
		gauge(descRisk, float64(st.Latest.RiskScore), name)
		for _, sev := range result.Severities {
			gauge(descFindings, float64(st.SeverityCounts[sev]), name, sev)
		}
		gauge(descLastAudit, float64(st.Latest.FinishedAt.UnixMilli())/1000, name)
		if st.Baseline != nil {
			if base := m.baselineFinished(st); !base.IsZero() {
				gauge(descBaselineAge, now.Sub(base).Seconds(), name)
			}
		}
	}
}

// baselineFinished is when the baseline audit finished (from the recent
// audits, else the stored result).
func (m *metrics) baselineFinished(st TargetStatus) time.Time {
	for _, e := range st.Recent {
		if e.AuditID == st.Baseline.AuditID {
			return e.FinishedAt
		}
	}
	m.svc.mu.Lock()
	res := m.svc.results[st.Baseline.AuditID]
	m.svc.mu.Unlock()
	if res != nil {
		return res.FinishedAt
	}
	return st.Baseline.At
}

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
