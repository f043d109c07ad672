package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/queue"
)

// Paths served by ingestd.
const (
	PathIngest  = "/v1/ingest"
	PathPosture = "/v1/posture"
	PathHealth  = "/healthz"
	PathReady   = "/readyz"
	PathMetrics = "/metrics"
)

// Retry-After values, in seconds.
const (
	retryAfterFull        = "30"
	retryAfterUnavailable = "5"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(PathIngest, s.only(http.MethodPost, "ingest", s.handleIngest))
	mux.HandleFunc(PathHealth, s.only(http.MethodGet, "healthz", s.handleHealth))
	mux.HandleFunc(PathReady, s.only(http.MethodGet, "readyz", s.handleReady))
	mux.HandleFunc(PathPosture, s.only(http.MethodGet, "posture", s.handlePosture))
	metricsHandler := promhttp.HandlerFor(s.gather, promhttp.HandlerOpts{MaxRequestsInFlight: 4})
	mux.HandleFunc(PathMetrics, s.only(http.MethodGet, "metrics", func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		metricsHandler.ServeHTTP(rec, r)
		s.metrics.request("metrics", rec.code)
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, "other", http.StatusNotFound, "not_found", "no such endpoint", nil)
	})
	return s.secure(mux)
}

// only answers 405 with Allow for any method but method (GET also allows HEAD).
func (s *Server) only(method, handler string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == method || (method == http.MethodGet && r.Method == http.MethodHead) {
			h(w, r)
			return
		}
		allow := method
		if method == http.MethodGet {
			allow = "GET, HEAD"
		}
		w.Header().Set("Allow", allow)
		s.writeError(w, r, handler, http.StatusMethodNotAllowed, "method_not_allowed", "use "+method, nil)
	}
}

// securityHeaders are set on every response, before any handler runs.
var securityHeaders = [][2]string{
	{"X-Content-Type-Options", "nosniff"},
	{"Cache-Control", "no-store"},
	{"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
	{"X-Frame-Options", "DENY"},
	{"Referrer-Policy", "no-referrer"},
}

// headerValue is one shared, read-only value slice of a fixed header. Its
// capacity is 1, so a handler's Header().Add reallocates instead of writing
// into the shared array; nothing in ingestd writes to a value in place.
type headerValue struct {
	name  string
	value []string
}

// fixedHeaders and hstsHeader hold the security headers as shared value
// slices: setting them allocates nothing per request.
var (
	fixedHeaders = func() []headerValue {
		out := make([]headerValue, len(securityHeaders))
		for i, kv := range securityHeaders {
			out[i] = headerValue{kv[0], []string{kv[1]}[:1:1]}
		}
		return out
	}()
	hstsHeader = headerValue{"Strict-Transport-Security", []string{"max-age=31536000"}[:1:1]}
)

// secure sets the security headers and a request id on every response.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for _, kv := range fixedHeaders {
			h[kv.name] = kv.value
		}
		if r.TLS != nil {
			h[hstsHeader.name] = hstsHeader.value
		}
		h["X-Request-Id"] = []string{newRequestID()}
		next.ServeHTTP(w, r)
	})
}

var (
	reqPrefix = func() string {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		return hex.EncodeToString(b)
	}()
	reqCounter atomic.Uint64
)

// newRequestID returns a process-unique id: a random prefix and a counter.
func newRequestID() string {
	return reqPrefix + "-" + strconv.FormatUint(reqCounter.Add(1), 36)
}

func requestID(w http.ResponseWriter) string { return w.Header().Get("X-Request-Id") }

// errorBody is the JSON body of every error answer. Message is generic;
// the detail is logged under RequestID. Problem, Line, Column and Record
// describe a client's own malformed payload (400) and nothing else.
type errorBody struct {
	Error     string `json:"error"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	Problem   string `json:"problem,omitempty"`
	Line      int    `json:"line,omitempty"`
	Column    int    `json:"column,omitempty"`
	Record    int    `json:"record,omitempty"`
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, handler string, code int, kind, msg string, detail error, extra ...func(*errorBody)) {
	body := errorBody{Error: kind, Message: msg, RequestID: requestID(w)}
	for _, f := range extra {
		f(&body)
	}
	level := s.log.Debug
	if code >= 500 {
		level = s.log.Error
	}
	args := []any{"request_id", body.RequestID, "status", code, "path", r.URL.Path, "remote", r.RemoteAddr}
	if detail != nil {
		args = append(args, "err", detail.Error())
	}
	level("request failed", args...)
	s.writeJSON(w, code, body)
	s.metrics.request(handler, code)
}

// jsonContentType is the shared Content-Type value of every JSON answer.
var jsonContentType = []string{"application/json"}[:1:1]

func (s *Server) writeJSON(w http.ResponseWriter, code int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		data = []byte(`{"error":"internal"}`)
		code = http.StatusInternalServerError
	}
	writeJSONBytes(w, code, append(data, '\n'))
}

// writeJSONBytes answers with data, an encoded JSON document ending in a
// newline.
func writeJSONBytes(w http.ResponseWriter, code int, data []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(data))}
	w.WriteHeader(code)
	_, _ = w.Write(data)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	s.metrics.request("healthz", http.StatusOK)
}

// handleReady answers 200 when the queue is open, its last commit worked and
// it has room; 503 otherwise (and while draining).
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	problem := ""
	q := s.queue()
	switch {
	case s.draining.Load():
		problem = "shutting down"
	case q == nil:
		problem = "queue not open"
	default:
		if err := q.Writable(); err != nil {
			problem = "store not writable"
			if errors.Is(err, queue.ErrNoSpace) {
				problem = "store filesystem full"
			}
			s.log.Error("readiness: store not writable", "err", err)
		} else if st := q.Stats(); st.Bytes >= st.MaxBytes {
			problem = "queue full"
		}
	}
	if problem != "" {
		w.Header().Set("Retry-After", retryAfterUnavailable)
		s.writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not_ready", "reason": problem})
		s.metrics.request("readyz", http.StatusServiceUnavailable)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	s.metrics.request("readyz", http.StatusOK)
}

// Posture is the document served at GET /v1/posture.
type Posture struct {
	Service   string `json:"service"`
	Version   string `json:"version"`
	Listeners struct {
		HTTPS string `json:"https"`
		HTTP  string `json:"http"`
	} `json:"listeners"`
	TLS struct {
		MinVersion string `json:"min_version"`
		ClientAuth string `json:"client_auth"`
	} `json:"tls"`
	AuthMode string `json:"auth_mode"`
	// UnsafeSettings lists every unsafe setting in force, unless
	// guardrails.legacy_silence_unsafe is on: then it is empty.
	UnsafeSettings []config.UnsafeSetting `json:"unsafe_settings"`
}

func (s *Server) posture() Posture {
	var p Posture
	p.Service = "ingestd"
	p.Version = s.version
	// Bound addresses once started, the configured ones before.
	p.Listeners.HTTPS, p.Listeners.HTTP = s.cfg.Listen.HTTPS, s.cfg.Listen.HTTP
	if a := s.HTTPSAddr(); a != "" {
		p.Listeners.HTTPS = a
	}
	if a := s.HTTPAddr(); a != "" {
		p.Listeners.HTTP = a
	}
	if s.cfg.Listen.HTTPS != "" {
		p.TLS.MinVersion = s.cfg.TLS.MinVersion
		p.TLS.ClientAuth = "none"
		if s.cfg.TLS.ClientCAFile != "" {
			p.TLS.ClientAuth = "verify_if_given"
			if s.cfg.Auth.Mode == config.AuthMTLS {
				p.TLS.ClientAuth = "require_and_verify"
			}
		}
	}
	p.AuthMode = s.cfg.Auth.Mode
	p.UnsafeSettings = []config.UnsafeSetting{}
	if !s.cfg.Guardrails.LegacySilenceUnsafe {
		p.UnsafeSettings = append(p.UnsafeSettings, s.unsafe...)
	}
	return p
}

func (s *Server) handlePosture(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, s.posture())
	s.metrics.request("posture", http.StatusOK)
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
