package server

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/hardgate/hardgate/internal/gateway/payload"
	"github.com/hardgate/hardgate/internal/gateway/queue"
)

// AnonymousDevice is the device of every request when auth.mode is none.
const AnonymousDevice = "anonymous"

// bearerChallenge is the WWW-Authenticate value of every 401 (RFC 6750).
const bearerChallenge = `Bearer realm="ingestd"`

// appendTimeout bounds how long a request waits for its batch to be durable.
const appendTimeout = 20 * time.Second

// Receipt is the 202 body: the batch is durably queued under BatchID.
type Receipt struct {
	BatchID string `json:"batch_id"`
	Records int    `json:"records"`
}

// acceptedTypes are the Content-Types ingest takes; empty is accepted too.
var acceptedTypes = map[string]bool{
	"application/json":      true,
	"application/x-ndjson":  true,
	"application/ndjson":    true,
	"application/jsonl":     true,
	"application/jsonlines": true,
	"text/plain":            true,
}

// handleIngest authenticates, rate limits, reads and validates the body,
// appends it durably to the queue and only then answers 202.
func (s *Server) handleIngest(w http.ResponseWriter, r *http.Request) {
	const h = "ingest"
	// Authentication comes first: no byte of the body is read before it.
	device, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	key, ok := s.admit(w, r, device)
	if !ok {
		return
	}
	maxBody := s.cfg.Limits.MaxBodyBytes
	var body io.Reader = r.Body
	if r.ContentLength < 0 {
		// A body of declared length cannot run past it (admit refused a
		// declared length over the cap); one of unknown length can.
		body = http.MaxBytesReader(w, r.Body, maxBody)
	}
	buf := bodyPool.Get().(*[]byte)
	res, err := payload.ParseInto(*buf, body, r.Header.Get("Content-Encoding"), maxBody, r.ContentLength)
	if err != nil {
		bodyPool.Put(buf)
		s.payloadError(w, r, err)
		return
	}
	// While draining, requests already in flight still complete: the queue
	// closes only after every listener has finished its requests.
	q := s.queue()
	if q == nil {
		w.Header().Set("Retry-After", retryAfterUnavailable)
		s.writeError(w, r, h, http.StatusServiceUnavailable, "unavailable", "not accepting data; retry later", nil)
		return
	}
	now := s.now()
	b := queue.Batch{ID: queue.NewID(now), Device: device, Records: res.Records, Body: res.NDJSON, ReceivedAt: now.UTC()}
	rc, replayed, err := s.store(q, b, key)
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) && cap(res.NDJSON) <= maxPooledBody {
		// The queue no longer refers to the body (see queue.Append).
		*buf = res.NDJSON[:0]
		bodyPool.Put(buf)
	}
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if replayed {
		w.Header().Set(headerReplayed, "true")
		s.metrics.replays.Inc()
	} else {
		s.metrics.bodyBytes.Add(float64(len(res.NDJSON)))
		s.metrics.records.Add(float64(res.Records))
	}
	writeReceipt(w, appendReceipt(make([]byte, 0, 64), rc))
	s.metrics.accepted.Inc()
}

// bodyPool holds the buffers request bodies are read and normalised in;
// buffers larger than maxPooledBody are left to the garbage collector.
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const maxPooledBody = 1 << 20

// writeReceipt answers 202 with the receipt. It sets no Content-Length:
// net/http adds one for a body this small written before the handler
// returns, and one header fewer keeps the header map in a single group.
func writeReceipt(w http.ResponseWriter, data []byte) {
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(data)
}

// admit applies the checks that need no body byte: the device's rate
// limit, the Content-Type, the Idempotency-Key and a declared length over
// the cap. It answers and returns false when one fails, and returns the
// idempotency key ("" when none was sent).
func (s *Server) admit(w http.ResponseWriter, r *http.Request, device string) (string, bool) {
	const h = "ingest"
	if wait, ok := s.limiter.allow(device, s.now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(max(wait.Seconds(), 1)))))
		s.writeError(w, r, h, http.StatusTooManyRequests, "rate_limited", "too many requests for this device; retry later", nil)
		return "", false
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/json" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !acceptedTypes[mt] {
			s.writeError(w, r, h, http.StatusUnsupportedMediaType, "unsupported_media_type",
				"send application/json or application/x-ndjson", nil)
			return "", false
		}
	}
	key, err := idempotencyKey(r.Header)
	if err != nil {
		s.writeError(w, r, h, http.StatusBadRequest, "invalid_idempotency_key", err.Error(), nil)
		return "", false
	}
	if maxBody := s.cfg.Limits.MaxBodyBytes; r.ContentLength > maxBody {
		s.writeError(w, r, h, http.StatusRequestEntityTooLarge, "too_large",
			"body exceeds limits.max_body_bytes ("+strconv.FormatInt(maxBody, 10)+")", nil)
		return "", false
	}
	return key, true
}

// store appends b durably, under key when it is set, and returns the
// receipt to answer: b's, or that of the batch the key already names
// (replayed). The queue bounds the wait (appendTimeout, queue.Options.WaitLimit).
func (s *Server) store(q *queue.Queue, b queue.Batch, key string) (rc Receipt, replayed bool, err error) {
	ctx := context.Background()
	start := time.Now()
	defer func() { s.metrics.appendDur.Observe(time.Since(start).Seconds()) }()
	if key == "" {
		return Receipt{BatchID: b.ID, Records: b.Records}, false, q.Append(ctx, b)
	}
	first, replayed, err := q.AppendOnce(ctx, b, key, sha256.Sum256(b.Body))
	return Receipt{BatchID: first.BatchID, Records: first.Records}, replayed, err
}

// storeError answers a failed append.
func (s *Server) storeError(w http.ResponseWriter, r *http.Request, err error) {
	const h = "ingest"
	switch {
	case errors.Is(err, queue.ErrKeyConflict):
		s.writeError(w, r, h, http.StatusConflict, "idempotency_key_reused",
			"this Idempotency-Key was already used with a different body", err)
	case errors.Is(err, queue.ErrNoSpace):
		w.Header().Set("Retry-After", retryAfterFull)
		s.writeError(w, r, h, http.StatusInsufficientStorage, "store_full", "the local store has no space left; retry later", err)
	case errors.Is(err, queue.ErrFull):
		w.Header().Set("Retry-After", retryAfterFull)
		s.writeError(w, r, h, http.StatusInsufficientStorage, "queue_full", "the local queue is full; retry later", err)
	default:
		w.Header().Set("Retry-After", retryAfterUnavailable)
		s.writeError(w, r, h, http.StatusServiceUnavailable, "store_unavailable", "the batch could not be stored; retry later", err)
	}
}

// appendReceipt appends rc as JSON and a newline, the bytes json.Marshal
// would give, without reflection: batch ids are Crockford base32, which
// JSON carries unescaped. Any other id takes json.Marshal.
func appendReceipt(dst []byte, rc Receipt) []byte {
	for i := 0; i < len(rc.BatchID); i++ {
		if c := rc.BatchID[i]; !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '-' || c == '_') {
			data, _ := json.Marshal(rc) // a struct of a string and an int cannot fail
			return append(append(dst, data...), '\n')
		}
	}
	dst = append(dst, `{"batch_id":"`...)
	dst = append(dst, rc.BatchID...)
	dst = append(dst, `","records":`...)
	dst = strconv.AppendInt(dst, int64(rc.Records), 10)
	return append(dst, "}\n"...)
}

func (s *Server) payloadError(w http.ResponseWriter, r *http.Request, err error) {
	const h = "ingest"
	var mbe *http.MaxBytesError
	var pe *payload.Error
	switch {
	case errors.As(err, &mbe), errors.Is(err, payload.ErrTooLarge):
		s.writeError(w, r, h, http.StatusRequestEntityTooLarge, "too_large",
			"body exceeds limits.max_body_bytes ("+strconv.FormatInt(s.cfg.Limits.MaxBodyBytes, 10)+") after decompression", err)
	case errors.Is(err, payload.ErrUnsupportedEncoding):
		s.writeError(w, r, h, http.StatusUnsupportedMediaType, "unsupported_encoding", "use Content-Encoding gzip or none", err)
	case errors.As(err, &pe):
		s.writeError(w, r, h, http.StatusBadRequest, "invalid_payload", pe.Error(), err, func(b *errorBody) {
			b.Problem, b.Line, b.Column, b.Record = pe.Problem, pe.Line, pe.Column, pe.Record
		})
	default:
		// The client went away or the connection failed mid-body.
		s.writeError(w, r, h, http.StatusBadRequest, "bad_request", "the body could not be read", err)
	}
}

// unauthorized answers 401 at once and closes the connection. Left alone,
// net/http reads and discards up to 256 KiB of an unread body to keep the
// connection alive: before the answer ("Connection: close" skips that),
// and again when it closes the request body after the handler (the read
// deadline in the past ends that at once). Without both, a client that
// sent a Content-Length and no body would wait up to ReadTimeout (30 s)
// for its 401 and hold the connection as long. Over HTTP/2 the header
// makes the server send GOAWAY once the connection's streams are done.
func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, challengeExtra, msg string) {
	w.Header().Set("Connection", "close")
	w.Header().Set("WWW-Authenticate", bearerChallenge+challengeExtra)
	s.writeError(w, r, "ingest", http.StatusUnauthorized, "unauthorized", msg, nil)
	rc := http.NewResponseController(w)
	// The whole answer goes out before the read side is cut short, so a
	// client that already sent its body still reads the full 401.
	_ = rc.Flush()
	_ = rc.SetReadDeadline(time.Now())
}

// bearerToken extracts the token of an "Authorization: Bearer" header; the
// scheme is case-insensitive (RFC 7235).
func bearerToken(r *http.Request) (string, bool) {
	v := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// deviceLimiter is a token bucket per device. The map is bounded: when it
// grows past maxDevices it is reset, which only ever loosens limits.
type deviceLimiter struct {
	limit rate.Limit
	burst int

	mu sync.Mutex
	m  map[string]*rate.Limiter
}

const maxDevices = 100_000

func newDeviceLimiter(perSecond float64, burst int) *deviceLimiter {
	if perSecond <= 0 {
		return nil
	}
	return &deviceLimiter{limit: rate.Limit(perSecond), burst: max(burst, 1), m: map[string]*rate.Limiter{}}
}

// allow reports whether device may send now, or how long it should wait.
func (l *deviceLimiter) allow(device string, now time.Time) (time.Duration, bool) {
	if l == nil {
		return 0, true
	}
	l.mu.Lock()
	lim, ok := l.m[device]
	if !ok {
		if len(l.m) >= maxDevices {
			clear(l.m)
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.m[device] = lim
	}
	l.mu.Unlock()
	res := lim.ReserveN(now, 1)
	if !res.OK() {
		return time.Second, false
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}
