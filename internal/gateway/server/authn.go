package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/auth"
	"github.com/hardgate/hardgate/internal/gateway/config"
)

// persistInterval is how often verified legacy tokens are rewritten as
// SHA-256 and last uses saved; Shutdown saves once more.
const persistInterval = 10 * time.Second

// retryAfterThrottled is the Retry-After of a throttled slow verification.
const retryAfterThrottled = "10"

// authenticate returns the device of r, or answers 401 (429 for a legacy
// token id whose slow verifications are throttled) and returns false. Every
// outcome is counted and timed.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	start := time.Now()
	res, err := s.identify(r)
	s.authm.observe(res.Method, res.Outcome, time.Since(start))
	switch {
	case err == nil:
		s.authm.seenDevice(res.Device)
		return res.Device, true
	case errors.Is(err, errNoCredentials):
		if s.cfg.Auth.Mode == config.AuthMTLS {
			s.unauthorized(w, r, "", "a verified client certificate whose common name is the device id is required")
		} else {
			s.unauthorized(w, r, "", "send Authorization: Bearer <token>")
		}
	case errors.Is(err, auth.ErrThrottled):
		w.Header().Set("Retry-After", retryAfterThrottled)
		s.writeError(w, r, "ingest", http.StatusTooManyRequests, "rate_limited",
			"too many verifications for this token; retry later", err)
	case errors.Is(err, auth.ErrInvalidToken):
		s.unauthorized(w, r, `, error="invalid_token"`, "the token is not valid")
	default: // the request ended while its verification waited
		s.writeError(w, r, "ingest", http.StatusServiceUnavailable, "unavailable", "retry later", err)
	}
	return "", false
}

// errNoCredentials is a request without a bearer token or client certificate.
var errNoCredentials = errors.New("no credentials")

// outcomeMissing is the metrics result of a request without credentials.
const outcomeMissing = "missing"

// identify finds the device of r under auth.mode.
func (s *Server) identify(r *http.Request) (auth.Result, error) {
	switch s.cfg.Auth.Mode {
	case config.AuthNone:
		return auth.Result{Device: AnonymousDevice, Method: "anonymous", Outcome: auth.OutcomeOK}, nil
	case config.AuthMTLS:
		res := auth.Result{Method: methodMTLS}
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
			res.Outcome = outcomeMissing
			return res, errNoCredentials
		}
		leaf := r.TLS.VerifiedChains[0][0]
		if cn := leaf.Subject.CommonName; !auth.ValidDevice(cn) {
			res.Outcome = auth.OutcomeMalformed
			return res, errNoCredentials
		}
		s.authm.certs.set(leaf.Subject.CommonName, leaf.NotAfter)
		res.Device, res.Outcome = leaf.Subject.CommonName, auth.OutcomeOK
		return res, nil
	}
	token, ok := bearerToken(r)
	if !ok {
		return auth.Result{Outcome: outcomeMissing}, errNoCredentials
	}
	return s.auth.Verify(r.Context(), token)
}

// methodMTLS is the metrics method of client-certificate authentication.
const methodMTLS = "mtls"

// ReloadTokens reloads auth.tokens_file (SIGHUP). On error the tokens in
// force stay unchanged.
func (s *Server) ReloadTokens() error {
	if s.auth == nil {
		return nil
	}
	if err := s.tokensFileGuardrails(); err != nil {
		s.log.Error("token reload refused; keeping the previous tokens", "err", err)
		return err
	}
	if err := s.auth.Reload(); err != nil {
		s.log.Error("token reload failed; keeping the previous tokens", "err", err)
		return err
	}
	s.metrics.tokens.Set(float64(s.auth.Len()))
	s.log.Info("tokens reloaded", "tokens", s.auth.Len(), "devices", s.auth.Devices())
	return nil
}

// tokensFileGuardrails re-checks, before a reload, the guardrails of the
// tokens file (mode, owner, directories) that guardrails.allow_unsafe does
// not accept.
func (s *Server) tokensFileGuardrails() error {
	var errs []error
	for _, u := range s.cfg.UnsafeSettings(s.mode) {
		if u.Field == "auth.tokens_file" && !u.Allowed {
			errs = append(errs, &config.GuardrailError{Setting: u})
		}
	}
	return errors.Join(errs...)
}

// persistAuth saves what the authenticator learned every persistInterval
// until ctx ends, then once more.
func (s *Server) persistAuth(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(persistInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.persistOnce()
			return
		case <-t.C:
			s.persistOnce()
		}
	}
}

func (s *Server) persistOnce() {
	n, err := s.auth.Persist()
	if err != nil {
		s.log.Warn("could not save token state; verified legacy tokens stay cached in memory", "err", err)
	}
	if n > 0 {
		s.log.Info("legacy token hashes moved to sha256", "tokens", n)
	}
}
