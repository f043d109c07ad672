// Package neterr classifies what a probe met on the network: the one
// classifier every probe uses, built on errors.Is and errors.As only,
// never on an error's text.
package neterr

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// Kind is the class of a network outcome. Its value is what evidence and
// reasons print.
type Kind string

// Kinds, in the order Classify tests them.
const (
	// None: no error.
	None Kind = ""
	// TLSVerify: the peer's certificate did not verify (unknown authority,
	// wrong host, expired, not allowed for this use).
	TLSVerify Kind = "tls_unverified"
	// Timeout: a deadline passed before the peer answered.
	Timeout Kind = "timeout"
	// Canceled: the probe was canceled (the audit ended).
	Canceled Kind = "canceled"
	// Refused: nothing listens (connection refused).
	Refused Kind = "connection_refused"
	// DNS: the host name did not resolve.
	DNS Kind = "dns"
	// Unreachable: no route to the host or network.
	Unreachable Kind = "unreachable"
	// TLSHandshake: the TLS handshake failed for another reason than
	// verification (an alert from the peer, a peer that does not speak TLS,
	// a connection closed during the handshake).
	TLSHandshake Kind = "tls_handshake"
	// Reset: the peer reset the connection.
	Reset Kind = "connection_reset"
	// Closed: the peer closed the connection early.
	Closed Kind = "connection_closed"
	// Other: anything else.
	Other Kind = "other"
)

// HandshakeError marks an error as the failure of a TLS handshake. A probe
// wraps the error of its handshake step in it (or classifies with it) so
// that Classify can tell a handshake failure from the same error elsewhere.
type HandshakeError struct{ Err error }

// Error is the handshake error's own text: the mark changes the class, not the message.
func (e *HandshakeError) Error() string { return e.Err.Error() }

// Unwrap returns the handshake's error.
func (e *HandshakeError) Unwrap() error { return e.Err }

// Classify returns the kind of err. A verification failure wins over the
// rest, then a deadline; a failure inside a TLS handshake (marked with
// HandshakeError, an alert received from the peer, or a peer that does not
// speak TLS) wins over the reset or close that ended it.
func Classify(err error) Kind {
	switch {
	case err == nil:
		return None
	case isVerify(err):
		return TLSVerify
	case isTimeout(err):
		return Timeout
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	case isDNS(err):
		return DNS
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return Unreachable
	case isHandshake(err):
		return TLSHandshake
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return Reset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return Closed
	}
	return Other
}

func isVerify(err error) bool {
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) || errors.As(err, &invalid)
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isDNS(err error) bool {
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// isHandshake reports a TLS handshake failure: marked by the probe, an
// alert the peer sent (crypto/tls reports it as a *net.OpError with Op
// "remote error"), an alert as a tls.AlertError, or a first record that is
// not TLS.
func isHandshake(err error) bool {
	var marked *HandshakeError
	var op *net.OpError
	var alert tls.AlertError
	var rec tls.RecordHeaderError
	return errors.As(err, &marked) ||
		(errors.As(err, &op) && op.Op == "remote error") ||
		errors.As(err, &alert) || errors.As(err, &rec)
}
