// Package httpprobe sends single, bounded HTTP requests to a gateway and
// records what came back as evidence. It observes and never judges: the
// status, selected headers and a short body excerpt, or the error and its
// kind. Redirects are reported, not followed; bodies are read up to a cap;
// every request has a deadline; secrets are redacted from everything kept,
// whole and every piece of MinLeak bytes or more, raw or encoded.
package httpprobe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/hardgate/hardgate/internal/probe/neterr"
	"github.com/hardgate/hardgate/internal/result"
)

// Defaults for Options.
const (
	DefaultTimeout  = 5 * time.Second
	DefaultMaxBody  = 64 << 10
	DefaultExcerpt  = 512
	redactedMarker  = "[REDACTED]"
	probeHeaderName = "X-Hardgate-Probe"
)

// ProbeHeader is the header that marks every probe request, so the gateway
// owner can filter probe traffic downstream. Its value is the audit id.
const ProbeHeader = probeHeaderName

// Options configure a Prober.
type Options struct {
	// Timeout bounds one request, body read included.
	Timeout time.Duration
	// MaxBody caps how many response body bytes are read.
	MaxBody int64
	// Excerpt is how many body bytes are kept as evidence (at most 512).
	Excerpt int
	// RootCAs verifies TLS; nil uses the system roots.
	RootCAs *x509.CertPool
	// InsecureSkipVerify disables verification (used only to observe a
	// server whose certificate did not verify; never with a real credential).
	InsecureSkipVerify bool
	// Secrets are strings redacted from every piece of evidence.
	Secrets []string
	// UserAgent identifies hardgate.
	UserAgent string
}

// Prober sends requests with one set of Options.
type Prober struct {
	opts   Options
	client *http.Client
	// hidden redacts the secrets, whole or any piece of MinLeak bytes,
	// raw, percent-encoded or in base64. A secret base64-encoded together
	// with other bytes before it (user:secret in Basic auth) matches only
	// from the secret's own bytes on; the audit sends no Basic auth.
	hidden *redactor
}

// New returns a Prober. It never follows redirects and never reuses
// connections between requests, so each observation stands alone.
func New(opts Options) *Prober {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Excerpt <= 0 || opts.Excerpt > DefaultExcerpt {
		opts.Excerpt = DefaultExcerpt
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "hardgate-audit"
	}
	tr := &http.Transport{
		Proxy:                  nil, // probes go exactly where the target says
		DialContext:            (&net.Dialer{Timeout: opts.Timeout}).DialContext,
		TLSHandshakeTimeout:    opts.Timeout,
		ResponseHeaderTimeout:  opts.Timeout,
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: 64 << 10,
		TLSClientConfig: &tls.Config{
			RootCAs:            opts.RootCAs,
			InsecureSkipVerify: opts.InsecureSkipVerify, //nolint:gosec // only to observe, see Options
			MinVersion:         tls.VersionTLS10,
		},
	}
	return &Prober{
		opts:   opts,
		hidden: newRedactor(opts.Secrets),
		client: &http.Client{
			Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
}

// Request is one request to send.
type Request struct {
	Method  string
	URL     string
	Headers map[string]string
	Body    []byte
	// Secrets are redacted from this request's evidence like
	// Options.Secrets: a credential made from a real one (a near-miss of
	// the valid token) is as secret as the real one.
	Secrets []string
}

// Observation is what one request saw.
type Observation struct {
	// Exchange is the redacted evidence.
	Exchange result.HTTPExchange
	// StatusCode is 0 when no response arrived.
	StatusCode int
	// Header holds the full response headers (not redacted; not for evidence).
	Header http.Header
	// Err is the transport error, if any; ErrKind classifies it.
	Err     error
	ErrKind neterr.Kind
}

// Responded reports whether an HTTP response arrived.
func (o *Observation) Responded() bool { return o.Err == nil && o.StatusCode != 0 }

// Evidence wraps the exchange as report evidence with a one-line summary.
func (o *Observation) Evidence(label string) result.Evidence {
	ex := o.Exchange
	summary := fmt.Sprintf("%s %s %s → ", label, ex.Method, ex.URL)
	if o.Responded() {
		summary += fmt.Sprintf("%d", o.StatusCode)
	} else {
		summary += "no response (" + string(o.ErrKind) + ")"
	}
	return result.Evidence{Kind: "http", Summary: summary, HTTP: &ex}
}

var keptResponseHeaders = []string{
	"Content-Length", "Content-Type", "Location", "Retry-After", "Server",
	"Strict-Transport-Security", "Www-Authenticate",
}

// Do sends req and records the exchange. It never returns an error: a
// failure is part of the observation.
func (p *Prober) Do(ctx context.Context, req Request) Observation {
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	rd := p.hidden.with(req.Secrets)
	obs := Observation{Exchange: result.HTTPExchange{
		Method:         req.Method,
		URL:            rd.redact(req.URL),
		RequestHeaders: map[string]string{},
	}}
	if len(req.Body) > 0 {
		obs.Exchange.RequestBody = p.excerpt(rd, req.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		obs.Err, obs.ErrKind = err, neterr.Other
		obs.Exchange.Error = rd.redact(err.Error())
		return obs
	}
	// The trace tells a failed TLS handshake from the same error elsewhere
	// (a reset during the handshake is a handshake failure).
	var handshakeFailed atomic.Bool
	hreq = hreq.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err != nil {
				handshakeFailed.Store(true)
			}
		},
	}))
	hreq.Header.Set("User-Agent", p.opts.UserAgent)
	for k, v := range req.Headers {
		hreq.Header.Set(k, v)
	}
	for k := range hreq.Header {
		v := hreq.Header.Get(k)
		if strings.EqualFold(k, "Authorization") {
			v = redactAuthorization(v, append(slices.Clone(p.opts.Secrets), req.Secrets...))
		}
		obs.Exchange.RequestHeaders[k] = rd.redact(v)
	}
	resp, err := p.client.Do(hreq)
	if err != nil {
		classified := err
		if handshakeFailed.Load() {
			classified = &neterr.HandshakeError{Err: err}
		}
		obs.Err, obs.ErrKind = err, neterr.Classify(classified)
		obs.Exchange.Error = rd.redact(err.Error())
		return obs
	}
	defer resp.Body.Close()
	obs.StatusCode = resp.StatusCode
	obs.Header = resp.Header.Clone()
	obs.Exchange.StatusCode = resp.StatusCode
	obs.Exchange.ResponseHeaders = map[string]string{}
	for _, h := range keptResponseHeaders {
		if v := resp.Header.Get(h); v != "" {
			obs.Exchange.ResponseHeaders[h] = rd.redact(v)
		}
	}
	if resp.TLS != nil {
		obs.Exchange.TLSVersion = tls.VersionName(resp.TLS.Version)
		obs.Exchange.TLSVerified = !p.opts.InsecureSkipVerify
	}
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, p.opts.MaxBody+1))
	if int64(len(body)) > p.opts.MaxBody {
		body = body[:p.opts.MaxBody]
		obs.Exchange.BodyTruncated = true
	}
	if len(body) > p.opts.Excerpt {
		obs.Exchange.BodyTruncated = true
	}
	obs.Exchange.BodyExcerpt = p.excerpt(rd, body)
	if readErr != nil {
		// The status line and headers arrived; a body cut short by the
		// deadline (not by the read cap, which ends without an error) is
		// noted but the response still counts.
		obs.Exchange.Error = "reading body: " + rd.redact(readErr.Error())
	}
	return obs
}

func (p *Prober) excerpt(rd *redactor, b []byte) string {
	// Redact the whole text first, so a secret cut by the excerpt's end
	// cannot survive half-visible; then cut on a rune boundary.
	s := rd.redact(strings.ToValidUTF8(string(b), "?"))
	if len(s) <= p.opts.Excerpt {
		return s
	}
	cut := p.opts.Excerpt
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// redactAuthorization keeps the scheme and hides a credential that is one of
// the secrets; a made-up probe credential is kept so the evidence shows it.
func redactAuthorization(v string, secrets []string) string {
	scheme, cred, ok := strings.Cut(v, " ")
	if !ok {
		return redactedMarker
	}
	if slices.Contains(secrets, cred) {
		return scheme + " " + redactedMarker
	}
	return v
}
