package neterr

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestClassifyReadsTheErrorChainNotItsText(t *testing.T) {
	t.Parallel()
	wrap := func(err error) error { return fmt.Errorf("post https://127.0.0.1/: %w", err) }
	op := func(op string, err error) error { return &net.OpError{Op: op, Net: "tcp", Err: err} }
	tests := []struct {
		name string
		err  error
		want Kind
	}{
		{"no error is none", nil, None},
		{"an unknown authority is tls_unverified", wrap(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), TLSVerify},
		{"a host name mismatch is tls_unverified", wrap(x509.HostnameError{Host: "x"}), TLSVerify},
		{"a passed context deadline is a timeout", wrap(context.DeadlineExceeded), Timeout},
		{"a passed socket deadline is a timeout", wrap(op("read", os.ErrDeadlineExceeded)), Timeout},
		{"a canceled audit is canceled", wrap(context.Canceled), Canceled},
		{"connection refused is refused", wrap(op("dial", os.NewSyscallError("connect", syscall.ECONNREFUSED))), Refused},
		{"a name that does not resolve is dns", wrap(&net.DNSError{Err: "no such host", Name: "gw.invalid", IsNotFound: true}), DNS},
		{"no route to host is unreachable", wrap(op("dial", os.NewSyscallError("connect", syscall.EHOSTUNREACH))), Unreachable},
		{"an alert from the peer is tls_handshake", wrap(op("remote error", errors.New("tls: handshake failure"))), TLSHandshake},
		{"a peer that does not speak TLS is tls_handshake", wrap(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), TLSHandshake},
		{"a close during a marked handshake is tls_handshake", wrap(&HandshakeError{Err: io.EOF}), TLSHandshake},
		{"a reset is connection_reset", wrap(op("read", os.NewSyscallError("read", syscall.ECONNRESET))), Reset},
		{"an early close is connection_closed", wrap(io.ErrUnexpectedEOF), Closed},
		{"a text that mentions tls: is not a handshake failure", errors.New("tls: connection refused, said the text"), Other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestClassifyRealLoopbackErrors(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = (&net.Dialer{Timeout: time.Second}).Dial("tcp", addr)
	if got := Classify(err); got != Refused {
		t.Errorf("dial to a closed port: %v classified %q, want %q", err, got, Refused)
	}
	hangUp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hangUp.Close()
	go func() {
		c, err := hangUp.Accept()
		if err == nil {
			_, _ = c.Read(make([]byte, 1024))
			c.Close()
		}
	}()
	conn, err := net.Dial("tcp", hangUp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = tls.Client(conn, &tls.Config{ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}).Handshake()
	if got := Classify(&HandshakeError{Err: err}); got != TLSHandshake {
		t.Errorf("a handshake the server hung up on: %v classified %q, want %q", err, got, TLSHandshake)
	}
}
