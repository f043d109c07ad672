// Package server is ingestd's HTTP(S) front: it enforces the guardrails at
// start, builds the hardened listeners (TLS defaults, timeouts and header
// limits in one place), authenticates devices before reading a body, rate
// limits them, stores each accepted batch durably in the local queue before
// answering 202, exposes health, readiness, metrics and the posture
// document, and runs the store-and-forward dispatcher.
//
// Lifecycle: New validates everything that can be checked without side
// effects (config, guardrails, TLS key pair, tokens file); Start opens the
// queue, binds the listeners and starts forwarding; Shutdown drains
// in-flight requests, stops forwarding and closes the queue.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/hardgate/hardgate/internal/gateway/auth"
	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/queue"
	"github.com/hardgate/hardgate/internal/version"
)

// Options are the dependencies of a Server.
type Options struct {
	// Logger receives every log line; nil discards them.
	Logger *slog.Logger
	// Registerer receives the metrics; nil creates a new registry (with Go
	// and process collectors) that GET /metrics serves.
	Registerer prometheus.Registerer
	// Gatherer is what GET /metrics serves; nil uses Registerer when it is
	// also a Gatherer (as *prometheus.Registry is).
	Gatherer prometheus.Gatherer
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Version is reported in the posture document and ingestd_build_info;
	// empty is the running build's (internal/version).
	Version string
	// FileMode reads file permissions for the guardrails; nil is config.StatMode.
	FileMode config.FileModeFunc
}

// Server is one ingestd instance.
type Server struct {
	cfg     config.Config
	log     *slog.Logger
	now     func() time.Time
	version string
	gather  prometheus.Gatherer
	metrics *metrics
	commitm *commitMetrics
	authm   *authMetrics
	crl     atomic.Pointer[auth.CRL] // nil without auth.crl_file
	tlsConf *tls.Config
	auth    *auth.Authenticator // nil unless auth.mode is bearer
	limiter *deviceLimiter
	unsafe  []config.UnsafeSetting // in force (all allowed)
	mode    config.FileModeFunc    // reads secret-file permissions (guardrails)
	handler http.Handler
	// headerTimeout bounds request headers (HTTP/1) and header blocks
	// (HTTP/2); readHeaderTimeout except in tests.
	headerTimeout time.Duration

	mu       sync.Mutex
	started  bool
	q        atomic.Pointer[queue.Queue] // set by Start; read on the hot path
	servers  []*http.Server
	httpsLn  net.Listener
	httpLn   net.Listener
	fwd      *forwarding
	stopAuth context.CancelFunc // ends persistAuth; nil without tokens
	authDone chan struct{}
	errc     chan error
	draining atomic.Bool
	closed   bool
}

// New checks cfg (validation, guardrails, TLS key pair, tokens file) and
// returns a Server ready to Start. An unsafe setting in force that
// guardrails.allow_unsafe does not name is an error (a *config.GuardrailError
// in the joined error) naming the setting, its field and how to allow it.
func New(cfg config.Config, opts Options) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid config:\n%w", err)
	}
	mode := opts.FileMode
	if mode == nil {
		mode = config.StatMode
	}
	if err := cfg.CheckGuardrails(mode); err != nil {
		return nil, fmt.Errorf("refusing to start:\n%w", err)
	}
	s := &Server{
		cfg:           cfg,
		log:           opts.Logger,
		now:           opts.Now,
		version:       opts.Version,
		unsafe:        cfg.UnsafeSettings(mode),
		mode:          mode,
		limiter:       newDeviceLimiter(cfg.Limits.RatePerDevice, cfg.Limits.RateBurst),
		headerTimeout: readHeaderTimeout,
		errc:          make(chan error, 2),
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.version == "" {
		s.version = version.Version()
	}
	if cfg.Listen.HTTPS != "" {
		tc, err := newTLSConfig(cfg)
		if err != nil {
			return nil, err
		}
		s.tlsConf = tc
	}
	if cfg.Auth.Mode == config.AuthBearer {
		a, err := auth.New(cfg.Auth.TokensFile, auth.Options{Now: s.now})
		if err != nil {
			return nil, fmt.Errorf("auth.tokens_file: %w (create it with \"ingestd token add --config FILE --device ID\")", err)
		}
		s.auth = a
		if err := a.UsedFileError(); err != nil {
			s.log.Warn("last-use file ignored: token list shows no last use until the next save", "err", err)
		}
	}
	reg := s.registry(opts)
	m, err := newMetrics(reg, s.version, s.queueStats)
	if err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	s.metrics = m
	if s.commitm, err = newCommitMetrics(reg); err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	if s.authm, err = newAuthMetrics(reg, s.crlStats); err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	if s.auth != nil {
		m.tokens.Set(float64(s.auth.Len()))
	}
	if err := s.setupCRL(s.tlsConf); err != nil {
		return nil, err
	}
	if !cfg.Guardrails.LegacySilenceUnsafe {
		m.announce(s.unsafe)
	}
	s.handler = s.routes()
	return s, nil
}

// Start opens the queue, binds the listeners (ports may be 0), starts
// serving and starts the dispatcher. ctx bounds the start only; call
// Shutdown to stop.
func (s *Server) Start(ctx context.Context) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("server already started")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	q, err := queue.Open(queue.Options{Dir: s.cfg.Store.Dir, MaxBytes: s.cfg.Store.MaxBytes,
		KeyRetention: time.Duration(s.cfg.Store.IdempotencyRetention), Logger: s.log, OnCommit: s.commitm.observe, WaitLimit: appendTimeout})
	if err != nil {
		return fmt.Errorf("store.dir: %w", err)
	}
	defer func() {
		if err != nil {
			s.closeListeners()
			_ = q.Close()
		}
	}()
	lc := net.ListenConfig{}
	if s.cfg.Listen.HTTPS != "" {
		if s.httpsLn, err = lc.Listen(ctx, "tcp", s.cfg.Listen.HTTPS); err != nil {
			return fmt.Errorf("listen.https: %w", err)
		}
	}
	if s.cfg.Listen.HTTP != "" {
		if s.httpLn, err = lc.Listen(ctx, "tcp", s.cfg.Listen.HTTP); err != nil {
			return fmt.Errorf("listen.http: %w", err)
		}
	}
	httpsSrv, httpSrv, err := s.newServers()
	if err != nil {
		return err
	}
	fwd, err := startForwarding(s.cfg, q, s.log, s.metricsRegisterer())
	if err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	s.q.Store(q)
	s.fwd = fwd
	s.started = true
	if s.auth != nil {
		var actx context.Context
		actx, s.stopAuth = context.WithCancel(context.WithoutCancel(ctx))
		s.authDone = make(chan struct{})
		go s.persistAuth(actx, s.authDone)
	}
	if !s.cfg.Guardrails.LegacySilenceUnsafe {
		for _, u := range s.unsafe {
			s.log.Warn("unsafe setting in force", "setting", u.Name, "field", u.Field, "value", u.Value, "detail", u.Detail)
		}
	}
	limit := newConnLimit(s.cfg.Limits.MaxConnections, s.metrics.connsOpen, s.metrics.connsWaited, s.metrics.connsShed)
	if httpsSrv != nil {
		httpsSrv.ConnState = limit.connState
		s.servers = append(s.servers, httpsSrv)
		go s.serve(httpsSrv, limit.listener(s.httpsLn), true)
		s.log.Info("listening", "listener", "https", "addr", s.httpsLn.Addr().String(), "tls_min", s.cfg.TLS.MinVersion, "auth", s.cfg.Auth.Mode)
	}
	if httpSrv != nil {
		httpSrv.ConnState = limit.connState
		s.servers = append(s.servers, httpSrv)
		go s.serve(httpSrv, limit.listener(s.httpLn), false)
		s.log.Info("listening", "listener", "http", "addr", s.httpLn.Addr().String(), "auth", s.cfg.Auth.Mode)
	}
	return nil
}

// newServers builds the http.Server of each bound listener (nil for one
// that is off).
func (s *Server) newServers() (httpsSrv, httpSrv *http.Server, err error) {
	expired := func() {
		s.metrics.headerTimeouts.Inc()
		s.log.Debug("closed an HTTP/2 connection: header block not complete in time", "limit", s.headerTimeout)
	}
	if s.httpsLn != nil {
		if httpsSrv, err = newHTTPServer(s.handler, s.tlsConf, s.log, s.headerTimeout, expired); err != nil {
			return nil, nil, err
		}
	}
	if s.httpLn != nil {
		if httpSrv, err = newHTTPServer(s.handler, nil, s.log, s.headerTimeout, nil); err != nil {
			return nil, nil, err
		}
	}
	return httpsSrv, httpSrv, nil
}

// metricsRegisterer is where the dispatcher registers its metrics.
func (s *Server) metricsRegisterer() prometheus.Registerer {
	if r, ok := s.gather.(prometheus.Registerer); ok {
		return r
	}
	return prometheus.NewRegistry()
}

func (s *Server) serve(srv *http.Server, ln net.Listener, useTLS bool) {
	var err error
	if useTLS {
		err = srv.ServeTLS(ln, "", "")
	} else {
		err = srv.Serve(ln)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("listener failed", "addr", ln.Addr().String(), "err", err)
		select {
		case s.errc <- err:
		default:
		}
	}
}

// Err delivers a listener failure after Start; the caller should Shutdown.
func (s *Server) Err() <-chan error { return s.errc }

func (s *Server) closeListeners() {
	for _, ln := range []net.Listener{s.httpsLn, s.httpLn} {
		if ln != nil {
			_ = ln.Close()
		}
	}
	s.httpsLn, s.httpLn = nil, nil
}

// HTTPSAddr is the bound HTTPS address, "" when that listener is off.
func (s *Server) HTTPSAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.httpsLn == nil {
		return ""
	}
	return s.httpsLn.Addr().String()
}

// HTTPAddr is the bound plaintext address, "" when that listener is off.
func (s *Server) HTTPAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.httpLn == nil {
		return ""
	}
	return s.httpLn.Addr().String()
}

// Shutdown stops accepting connections, waits for in-flight requests until
// ctx ends, stops the dispatcher and closes the queue.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	// The lock is not held while draining: in-flight handlers (posture)
	// read the listener addresses under it.
	s.mu.Lock()
	if s.closed || !s.started {
		s.closed = true
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	servers, fwd, stopAuth, authDone := s.servers, s.fwd, s.stopAuth, s.authDone
	s.mu.Unlock()
	var errs []error
	var wg sync.WaitGroup
	var emu sync.Mutex
	for _, srv := range servers {
		wg.Go(func() {
			if err := srv.Shutdown(ctx); err != nil {
				emu.Lock()
				errs = append(errs, fmt.Errorf("drain: %w", err))
				emu.Unlock()
				_ = srv.Close()
			}
		})
	}
	wg.Wait()
	if stopAuth != nil {
		stopAuth()
		<-authDone
	}
	if err := fwd.stop(ctx); err != nil {
		errs = append(errs, fmt.Errorf("stop forwarding: %w", err))
	}
	if err := s.q.Load().Close(); err != nil && !errors.Is(err, queue.ErrClosed) {
		errs = append(errs, err)
	}
	s.log.Info("stopped")
	return errors.Join(errs...)
}

// queueStats reports the queue's size once it is open.
func (s *Server) queueStats() (queue.Stats, bool) {
	q := s.queue()
	if q == nil {
		return queue.Stats{}, false
	}
	return q.Stats(), true
}

func (s *Server) queue() *queue.Queue { return s.q.Load() }

// registry is where the metrics register: opts.Registerer, or a new registry
// with the Go and process collectors. It also sets s.gather, what /metrics
// serves.
func (s *Server) registry(opts Options) prometheus.Registerer {
	reg := opts.Registerer
	s.gather = opts.Gatherer
	if reg == nil {
		r := prometheus.NewRegistry()
		r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		reg = r
	}
	if s.gather == nil {
		if g, ok := reg.(prometheus.Gatherer); ok {
			s.gather = g
		} else {
			s.gather = prometheus.NewRegistry()
		}
	}
	return reg
}
