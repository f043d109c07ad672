package forward

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/queue"
)

// Header names sent with every HTTP delivery.
const (
	// HeaderIdempotencyKey carries the batch id, so that an upstream can
	// drop the duplicates that at-least-once delivery produces.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderDevice carries the device that sent the batch to ingestd.
	HeaderDevice = "X-Ingestd-Device"
	// HeaderRecords carries the number of records in the batch.
	HeaderRecords = "X-Ingestd-Records"
	// ContentTypeNDJSON is the media type of a batch body.
	ContentTypeNDJSON = "application/x-ndjson"
)

// maxErrorExcerpt bounds how much of a failed response is kept in the error.
const maxErrorExcerpt = 256

// defaultHTTPTimeout bounds one attempt when the config leaves it at zero.
const defaultHTTPTimeout = 10 * time.Second

// HTTP posts each batch as NDJSON to an HTTP(S) upstream; a 2xx answer is the
// acknowledgement.
type HTTP struct {
	url     string
	token   string
	timeout time.Duration
	client  *http.Client
	log     *slog.Logger
}

var _ Forwarder = (*HTTP)(nil)

// NewHTTP builds the HTTP forwarder. The upstream certificate is verified
// against cfg.CAFile, or the system roots when it is empty, with TLS 1.2 as
// the minimum. A bearer token is read from the environment variable named by
// cfg.TokenEnv; it is never sent in clear text to a host other than loopback.
func NewHTTP(cfg config.ForwardHTTP, logger *slog.Logger) (*HTTP, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("forward.http.url: must be an http or https URL with a host (got %q)", cfg.URL)
	}
	var token string
	if cfg.TokenEnv != "" {
		token = strings.TrimSpace(os.Getenv(cfg.TokenEnv))
		if token == "" {
			return nil, fmt.Errorf("forward.http.token_env: environment variable %s is empty or unset", cfg.TokenEnv)
		}
		if u.Scheme == "http" && !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("forward.http.url: refusing to send the bearer token from %s over plaintext http to %s; use https", cfg.TokenEnv, u.Host)
		}
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("forward.http.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("forward.http.ca_file: no PEM certificate found in %s", cfg.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	timeout := time.Duration(cfg.Timeout)
	if timeout <= 0 {
		timeout = defaultHTTPTimeout
	}
	transport := &http.Transport{
		Proxy:                 nil, // deliveries go straight to the configured upstream
		DialContext:           (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
	}
	client := &http.Client{
		Transport: transport,
		// A redirect is not an acknowledgement; never follow one with the token.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &HTTP{url: u.String(), token: token, timeout: timeout, client: client, log: logger}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Name implements Forwarder.
func (h *HTTP) Name() string { return "http" }

// Deliver implements Forwarder: one POST bounded by the configured timeout;
// only a 2xx answer returns nil.
func (h *HTTP) Deliver(ctx context.Context, b queue.Batch) error {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(b.Body))
	if err != nil {
		return fmt.Errorf("deliver %s: %w", b.ID, err)
	}
	req.Header.Set("Content-Type", ContentTypeNDJSON)
	req.Header.Set("User-Agent", "ingestd")
	req.Header.Set(HeaderIdempotencyKey, b.ID)
	req.Header.Set(HeaderDevice, b.Device)
	req.Header.Set(HeaderRecords, strconv.Itoa(b.Records))
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("deliver %s: %w", b.ID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorExcerpt))
	return &UpstreamError{
		Status:     resp.StatusCode,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		Excerpt:    strings.TrimSpace(string(excerpt)),
		BatchID:    b.ID,
	}
}

// Close implements Forwarder.
func (h *HTTP) Close() error {
	h.client.CloseIdleConnections()
	return nil
}

// UpstreamError is an HTTP answer other than 2xx.
type UpstreamError struct {
	// Status is the HTTP status code.
	Status int
	// RetryAfter is the delay the upstream asked for, 0 when it did not.
	RetryAfter time.Duration
	// Excerpt is the start of the response body.
	Excerpt string
	// BatchID is the batch that was refused.
	BatchID string
}

func (e *UpstreamError) Error() string {
	msg := fmt.Sprintf("deliver %s: upstream answered %d %s", e.BatchID, e.Status, http.StatusText(e.Status))
	if e.Excerpt != "" {
		msg += ": " + strconv.Quote(e.Excerpt)
	}
	return msg
}

// RetryAfterOf returns the delay an upstream asked for in err, or 0.
func RetryAfterOf(err error) time.Duration {
	var ue *UpstreamError
	if errors.As(err, &ue) {
		return ue.RetryAfter
	}
	return 0
}

// parseRetryAfter reads delay-seconds or an HTTP date; 0 when absent or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(min(secs, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour)
	}
	return 0
}
