package server

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// maxTrackedDevices bounds the devices remembered for devices_seen and the
// certificate expiry gauge.
const maxTrackedDevices = 100_000

// authMetrics are the authentication series: verifications by method and
// result, their latency, the devices seen, and the expiry of each device's
// client certificate under mTLS.
type authMetrics struct {
	verifications *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	// children caches the series of each method and result seen, so that
	// a request finds them without hashing labels under a lock.
	children  atomic.Pointer[map[[2]string]authSeries]
	childMu   sync.Mutex
	seen      sync.Map // device → struct{}
	seenCount atomic.Int64
	certs     certExpiry
}

func newAuthMetrics(reg prometheus.Registerer, crl func() (revoked, nextUpdate float64)) (*authMetrics, error) {
	m := &authMetrics{
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ingestd_auth_verifications_total",
			Help: "Device authentications by method (sha256, argon2id, bcrypt, cache, mtls, anonymous; none when no stored hash was consulted) and result (ok, invalid, unknown_id, malformed, missing, expired, throttled, canceled, revoked).",
		}, []string{"method", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ingestd_auth_verification_duration_seconds",
			Help:    "Time to authenticate a request, by method, including any wait for a slow-hash slot.",
			Buckets: []float64{1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, .001, .005, .01, .05, .1, .25, .5, 1, 2.5},
		}, []string{"method"}),
	}
	m.certs.m = map[string]time.Time{}
	cs := []prometheus.Collector{
		m.verifications, m.latency,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ingestd_auth_devices_seen",
			Help: "Distinct devices authenticated since ingestd started.",
		}, func() float64 { return float64(m.seenCount.Load()) }),
		&m.certs,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ingestd_auth_crl_revoked",
			Help: "Client certificates on the CRL in force (auth.crl_file).",
		}, func() float64 { r, _ := crl(); return r }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ingestd_auth_crl_next_update_timestamp_seconds",
			Help: "Earliest NextUpdate of the CRL in force (Unix seconds; 0 without one): past it the list is stale.",
		}, func() float64 { _, n := crl(); return n }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// authSeries are the series of one method and result.
type authSeries struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// observe records one authentication.
func (m *authMetrics) observe(method, result string, took time.Duration) {
	if method == "" {
		method = "none"
	}
	k := [2]string{method, result}
	ser, ok := m.series(k)
	if !ok {
		ser = m.addSeries(k)
	}
	ser.count.Inc()
	ser.latency.Observe(took.Seconds())
}

func (m *authMetrics) series(k [2]string) (authSeries, bool) {
	if p := m.children.Load(); p != nil {
		ser, ok := (*p)[k]
		return ser, ok
	}
	return authSeries{}, false
}

// addSeries adds the series of k to the cache (copy on write; the
// methods and results are a closed set, so the map stays small).
func (m *authMetrics) addSeries(k [2]string) authSeries {
	m.childMu.Lock()
	defer m.childMu.Unlock()
	if ser, ok := m.series(k); ok {
		return ser
	}
	next := map[[2]string]authSeries{}
	if p := m.children.Load(); p != nil {
		maps.Copy(next, *p)
	}
	ser := authSeries{count: m.verifications.WithLabelValues(k[0], k[1]), latency: m.latency.WithLabelValues(k[0])}
	next[k] = ser
	m.children.Store(&next)
	return ser
}

// seenDevice counts device once.
func (m *authMetrics) seenDevice(device string) {
	if _, ok := m.seen.Load(device); ok || m.seenCount.Load() >= maxTrackedDevices {
		return
	}
	if _, loaded := m.seen.LoadOrStore(device, struct{}{}); !loaded {
		m.seenCount.Add(1)
	}
}

// certExpiry exports, per device, the NotAfter of the client certificate it
// last authenticated with.
type certExpiry struct {
	mu sync.Mutex
	m  map[string]time.Time
}

var certExpiryDesc = prometheus.NewDesc("ingestd_auth_client_cert_expiry_timestamp_seconds",
	"Expiry (NotAfter, Unix seconds) of the client certificate each device last authenticated with (auth.mode mtls).",
	[]string{"device"}, nil)

func (c *certExpiry) set(device string, notAfter time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[device]; ok && old.Equal(notAfter) {
		return
	}
	if _, ok := c.m[device]; !ok && len(c.m) >= maxTrackedDevices {
		return
	}
	c.m[device] = notAfter
}

// Describe implements prometheus.Collector.
func (c *certExpiry) Describe(ch chan<- *prometheus.Desc) { ch <- certExpiryDesc }

// Collect implements prometheus.Collector.
func (c *certExpiry) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for d, t := range c.m {
		ch <- prometheus.MustNewConstMetric(certExpiryDesc, prometheus.GaugeValue, float64(t.Unix()), d)
	}
}
