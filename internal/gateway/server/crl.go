package server

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/hardgate/hardgate/internal/gateway/auth"
)

// errRevoked fails the handshake of a client certificate on the CRL.
var errRevoked = errors.New("client certificate revoked")

// setupCRL loads auth.crl_file and makes tc refuse, during the handshake,
// every client certificate on it. Without auth.crl_file it does nothing.
func (s *Server) setupCRL(tc *tls.Config) error {
	if s.cfg.Auth.CRLFile == "" || tc == nil {
		return nil
	}
	crl, err := auth.LoadCRL(s.cfg.Auth.CRLFile, s.cfg.TLS.ClientCAFile)
	if err != nil {
		return fmt.Errorf("auth.crl_file: %w", err)
	}
	s.crl.Store(crl)
	s.warnStaleCRL(crl)
	tc.VerifyConnection = s.verifyConnection
	return nil
}

// verifyConnection refuses a verified client certificate that is on the CRL.
func (s *Server) verifyConnection(cs tls.ConnectionState) error {
	crl := s.crl.Load()
	for _, chain := range cs.VerifiedChains {
		if len(chain) > 0 && crl.Revoked(chain[0]) {
			s.authm.observe(methodMTLS, auth.OutcomeRevoked, 0)
			s.log.Debug("refused a revoked client certificate", "subject", chain[0].Subject.CommonName, "serial", chain[0].SerialNumber.String())
			return errRevoked
		}
	}
	return nil
}

// ReloadCRL reads auth.crl_file again (SIGHUP). On error the list in force
// stays unchanged.
func (s *Server) ReloadCRL() error {
	if s.crl.Load() == nil {
		return nil
	}
	crl, err := auth.LoadCRL(s.cfg.Auth.CRLFile, s.cfg.TLS.ClientCAFile)
	if err != nil {
		s.log.Error("CRL reload failed; keeping the previous list", "err", err)
		return err
	}
	s.crl.Store(crl)
	s.warnStaleCRL(crl)
	s.log.Info("CRL reloaded", "revoked", crl.Len())
	return nil
}

func (s *Server) warnStaleCRL(crl *auth.CRL) {
	if nu := crl.NextUpdate(); !nu.IsZero() && s.now().After(nu) {
		s.log.Warn("the CRL is past its next update; it stays in force, fetch a fresh one", "next_update", nu)
	}
}

// Reload applies SIGHUP: the tokens file and the CRL are each reloaded; a
// failure keeps that one's previous state in force.
func (s *Server) Reload() error {
	return errors.Join(s.ReloadTokens(), s.ReloadCRL())
}

// crlStats reports the list in force for the metrics.
func (s *Server) crlStats() (revoked, nextUpdate float64) {
	crl := s.crl.Load()
	if crl == nil {
		return 0, 0
	}
	if nu := crl.NextUpdate(); !nu.IsZero() {
		nextUpdate = float64(nu.Unix())
	}
	return float64(crl.Len()), nextUpdate
}
