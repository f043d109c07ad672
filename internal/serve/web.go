package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/config"
)

// Cookie names.
const (
	sessionCookie = "hardgate_session"
	csrfCookie    = "hardgate_csrf"
)

// maxFormBytes caps a POST body.
const maxFormBytes = 16 << 10

// web is the dashboard's HTTP side.
type web struct {
	svc      *Service
	tokens   tokens // nil: no auth (loopback only, checked by Validate)
	sessions *sessions
	secure   bool // served over TLS: cookies are Secure
	log      *slog.Logger
	mux      *http.ServeMux
}

// reqInfo is who made a request and their CSRF token.
type reqInfo struct {
	user      user
	csrf      string
	viaHeader bool // a bearer token in the Authorization header (no CSRF)
	sessionID string
	requestID string
}

type ctxKey struct{}

func info(r *http.Request) *reqInfo {
	if v, ok := r.Context().Value(ctxKey{}).(*reqInfo); ok {
		return v
	}
	return &reqInfo{}
}

// Handler returns the dashboard, /metrics and /healthz, with
// authentication, roles, CSRF protection and the security headers.
func (s *Service) Handler() (http.Handler, error) {
	w := &web{svc: s, sessions: &sessions{m: map[string]session{}, now: s.now}, log: s.log,
		secure: s.cfg.TLS.CertFile != ""}
	if s.cfg.Auth.TokensFile != "" {
		t, err := loadTokens(s.cfg.Auth.TokensFile)
		if err != nil {
			return nil, err
		}
		w.tokens = t
	}
	w.routes()
	cop := http.NewCrossOriginProtection()
	var h http.Handler = cop.Handler(w.authenticate(w.mux))
	if w.tokens == nil {
		h = loopbackHostOnly(h)
	}
	return w.headers(h), nil
}

func (w *web) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(rw, "ok")
	})
	m.Handle("GET /metrics", w.need(RoleViewer, w.svc.metrics.handler()))
	m.Handle("GET /{$}", w.need(RoleViewer, http.HandlerFunc(w.overview)))
	m.Handle("GET /targets/{name}", w.need(RoleViewer, http.HandlerFunc(w.target)))
	m.Handle("POST /targets/{name}/audit", w.need(RoleOperator, w.csrf(http.HandlerFunc(w.auditNow))))
	m.Handle("POST /targets/{name}/baseline", w.need(RoleOperator, w.csrf(http.HandlerFunc(w.setBaseline))))
	m.Handle("GET /audits/{id}", w.need(RoleViewer, http.HandlerFunc(w.auditReport)))
	m.Handle("GET /delta", w.need(RoleViewer, http.HandlerFunc(w.deltaReport)))
	m.Handle("GET /agents", w.need(RoleViewer, http.HandlerFunc(w.agents)))
	m.Handle("GET /compliance", w.need(RoleViewer, http.HandlerFunc(w.complianceFrameworks)))
	m.Handle("GET /compliance/{framework}", w.need(RoleViewer, http.HandlerFunc(w.complianceView)))
	m.HandleFunc("GET /login", w.loginPage)
	m.Handle("POST /login", w.csrf(http.HandlerFunc(w.login)))
	m.Handle("POST /logout", w.csrf(http.HandlerFunc(w.logout)))
	w.mux = m
}

// headers sets the security headers on every answer: no script, no
// framing, no external resource, nothing cached.
func (w *web) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h := rw.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if w.secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(rw, r.Body, maxFormBytes)
		}
		next.ServeHTTP(rw, r)
	})
}

// loopbackHostOnly refuses requests naming another host when the dashboard
// runs without auth, so a web page cannot reach it through DNS rebinding.
func loopbackHostOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		host := r.Host
		if _, _, err := net.SplitHostPort(host); err != nil {
			host = net.JoinHostPort(strings.Trim(host, "[]"), "80")
		}
		if !config.IsLoopback(host) {
			http.Error(rw, "this dashboard answers loopback names only (localhost, 127.0.0.1, [::1])", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(rw, r)
	})
}

// authenticate finds who is asking: everyone is the local operator without
// auth; else a bearer token in the Authorization header, or a session.
func (w *web) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		ri := &reqInfo{requestID: randomString(6)}
		if w.tokens == nil {
			ri.user = user{Name: "local", Role: RoleOperator}
		} else if h := r.Header.Get("Authorization"); h != "" {
			tok, ok := strings.CutPrefix(h, "Bearer ")
			u, found := w.tokens.lookup(strings.TrimSpace(tok))
			if !ok || !found {
				rw.Header().Set("WWW-Authenticate", `Bearer realm="hardgate serve"`)
				http.Error(rw, "invalid token", http.StatusUnauthorized)
				return
			}
			ri.user, ri.viaHeader = u, true
		} else if c, err := r.Cookie(sessionCookie); err == nil {
			if sess, ok := w.sessions.get(c.Value); ok {
				ri.user, ri.csrf, ri.sessionID = sess.user, sess.csrf, c.Value
			}
		}
		if ri.csrf == "" && !ri.viaHeader {
			ri.csrf = w.anonCSRF(rw, r)
		}
		next.ServeHTTP(rw, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ri)))
	})
}

// anonCSRF is the CSRF token of a browser without a session: a random
// value in a cookie, set on first sight, echoed by its forms.
func (w *web) anonCSRF(rw http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	v := randomString(32)
	http.SetCookie(rw, &http.Cookie{Name: csrfCookie, Value: v, Path: "/", HttpOnly: true, Secure: w.secure, SameSite: http.SameSiteStrictMode})
	return v
}

// need lets a request through when its user has role; a browser without
// a session is sent to the login page.
func (w *web) need(role string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		ri := info(r)
		switch {
		case ri.user.Role == "" && r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/metrics"):
			http.Redirect(rw, r, "/login", http.StatusSeeOther)
		case ri.user.Role == "":
			rw.Header().Set("WWW-Authenticate", `Bearer realm="hardgate serve"`)
			http.Error(rw, "authentication required", http.StatusUnauthorized)
		case !ri.user.can(role):
			w.fail(rw, r, http.StatusForbidden, "your role ("+ri.user.Role+") may not do this; it needs "+role, nil)
		default:
			next.ServeHTTP(rw, r)
		}
	})
}

// csrf checks a form's CSRF token against the session's (or the cookie's);
// requests with a bearer header carry no ambient credential and skip it.
func (w *web) csrf(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		ri := info(r)
		if ri.viaHeader {
			next.ServeHTTP(rw, r)
			return
		}
		if err := r.ParseForm(); err != nil {
			w.fail(rw, r, http.StatusBadRequest, "unreadable form", err)
			return
		}
		if !sameSecret(r.PostForm.Get("csrf"), ri.csrf) {
			w.fail(rw, r, http.StatusForbidden, "the form's CSRF token is missing or stale: reload the page and try again", nil)
			return
		}
		next.ServeHTTP(rw, r)
	})
}

// fail answers with a generic message and a request id, and logs the
// detail under that id.
func (w *web) fail(rw http.ResponseWriter, r *http.Request, status int, msg string, err error) {
	ri := info(r)
	if err != nil || status >= 500 {
		w.log.Error("request failed", "request_id", ri.requestID, "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.WriteHeader(status)
	_ = pages.ExecuteTemplate(rw, "error", errorView{page: w.page(r, "Error"), Status: status, Message: msg, RequestID: ri.requestID})
}

// Serve runs the dashboard on ln until ctx ends (TLS when configured),
// then shuts it down gracefully.
func (s *Service) Serve(ctx context.Context, ln net.Listener) error {
	h, err := s.Handler()
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if s.cfg.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLS.CertFile, s.cfg.TLS.KeyFile)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) {
		err = errors.Join(err, e)
	}
	return err
}
