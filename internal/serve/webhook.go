package serve

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/hardgate/hardgate/internal/store"
)

// Webhook headers. The signature covers the timestamp and the body:
// hex(HMAC-SHA256(secret, timestamp + "." + body)), so a captured alert
// cannot be replayed under a new time.
const (
	HeaderSignature = "X-Hardgate-Signature" // "t=<unix seconds>,sha256=<hex>"
	HeaderEvent     = "X-Hardgate-Event"     // regression, recovered, inconclusive
	HeaderDelivery  = "X-Hardgate-Delivery"  // the alert id, the same on every retry
)

// minSecretBytes is the shortest signing secret accepted.
const minSecretBytes = 16

// Sign returns the signature header value of body sent at ts.
func Sign(secret []byte, ts time.Time, body []byte) string {
	t := strconv.FormatInt(ts.Unix(), 10)
	return "t=" + t + ",sha256=" + hex.EncodeToString(mac(secret, t, body))
}

func mac(secret []byte, t string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(t))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// ErrBadSignature is returned by Verify for a signature that does not match.
var ErrBadSignature = errors.New("webhook signature does not match")

// Verify checks a signature header against body, and that its time is
// within maxAge of now: what a receiver does (docs/serve.md).
func Verify(secret []byte, header string, body []byte, now time.Time, maxAge time.Duration) error {
	var t, sig string
	for _, part := range bytes.Split([]byte(header), []byte(",")) {
		k, v, _ := bytes.Cut(part, []byte("="))
		switch string(k) {
		case "t":
			t = string(v)
		case "sha256":
			sig = string(v)
		}
	}
	sec, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: no timestamp", ErrBadSignature)
	}
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(secret, t, body)) {
		return ErrBadSignature
	}
	if age := now.Sub(time.Unix(sec, 0)); age > maxAge || age < -maxAge {
		return fmt.Errorf("%w: timestamp is %v away from now", ErrBadSignature, age.Round(time.Second))
	}
	return nil
}

// webhookSender delivers the alert outbox: in order, retried with
// exponential backoff, on its own goroutine, so audits never wait on it.
type webhookSender struct {
	cfg    *Webhook
	secret []byte
	client *http.Client
	store  *store.Store
	log    *slog.Logger
	now    func() time.Time
	wake   chan struct{}
	sent   func(outcome string) // metrics hook
	base   time.Duration        // first retry delay
}

func newWebhookSender(cfg *Webhook, st *store.Store, getenv func(string) string, log *slog.Logger, now func() time.Time) (*webhookSender, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	secret := getenv(cfg.SecretEnv)
	if len(secret) < minSecretBytes {
		return nil, fmt.Errorf("alerts.webhook.secret_env: $%s must hold a signing secret of at least %d bytes (it holds %d)", cfg.SecretEnv, minSecretBytes, len(secret))
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("alerts.webhook.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("alerts.webhook.ca_file: %s holds no PEM certificate", cfg.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	client := &http.Client{
		Timeout:   time.Duration(cfg.Timeout),
		Transport: &http.Transport{TLSClientConfig: tlsCfg, Proxy: http.ProxyFromEnvironment},
		// A redirect is a failed delivery: the alert goes where it was
		// configured to go, or nowhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &webhookSender{cfg: cfg, secret: []byte(secret), client: client, store: st, log: log, now: now,
		wake: make(chan struct{}, 1), sent: func(string) {}, base: time.Second}, nil
}

// notify wakes the sender; it never blocks.
func (w *webhookSender) notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// loop delivers due alerts until ctx ends.
func (w *webhookSender) loop(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-timer.C:
		}
		w.deliverDue(ctx)
		wait := time.Minute
		if due, ok, err := w.store.NextAlertDue(ctx); err == nil && ok {
			wait = max(due.Sub(w.now()), 10*time.Millisecond)
		}
		timer.Reset(wait)
	}
}

// deliverDue sends every alert that is due.
func (w *webhookSender) deliverDue(ctx context.Context) {
	for ctx.Err() == nil {
		pending, err := w.store.PendingAlerts(ctx, w.now(), 16)
		if err != nil {
			w.log.Error("read alert outbox", "err", err)
			return
		}
		if len(pending) == 0 {
			return
		}
		for _, a := range pending {
			w.deliver(ctx, a)
		}
	}
}

// deliver makes one attempt and records its outcome.
func (w *webhookSender) deliver(ctx context.Context, a store.Alert) {
	attempts := a.Attempts + 1
	err := w.post(ctx, a)
	rec := context.WithoutCancel(ctx)
	if err == nil {
		w.sent("delivered")
		w.log.Info("alert delivered", "target", a.Target, "event", a.Event, "audit_id", a.AuditID, "attempts", attempts)
		if err := w.store.AlertDelivered(rec, a.ID, attempts, w.now()); err != nil {
			w.log.Error("record alert delivery", "err", err)
		}
		return
	}
	w.sent("failed")
	next := w.now().Add(backoff(attempts, w.base, time.Duration(w.cfg.MaxBackoff)))
	w.log.Warn("alert delivery failed; will retry", "target", a.Target, "event", a.Event, "attempts", attempts, "retry_at", next, "err", err)
	if err := w.store.AlertFailed(rec, a.ID, attempts, next, err.Error()); err != nil {
		w.log.Error("record alert failure", "err", err)
	}
}

// backoff is base, 2*base, 4*base, ... capped at limit.
func backoff(attempts int, base, limit time.Duration) time.Duration {
	d := base << min(attempts-1, 30)
	if d <= 0 {
		return limit
	}
	return min(d, limit)
}

func (w *webhookSender) post(ctx context.Context, a store.Alert) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(a.Payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hardgate-serve")
	req.Header.Set(HeaderEvent, a.Event)
	req.Header.Set(HeaderDelivery, a.Event+":"+a.AuditID)
	req.Header.Set(HeaderSignature, Sign(w.secret, w.now(), a.Payload))
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}
