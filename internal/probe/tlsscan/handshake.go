package tlsscan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hardgate/hardgate/internal/probe/neterr"
)

// probeResult is the outcome of one crafted handshake that the server
// answered decisively: either a ServerHello or an alert.
type probeResult struct {
	hello *ServerHello
	alert *AlertError

	// Read after a TLS <= 1.2 ServerHello when asked (best effort).
	certs     [][]byte
	kx        keyExchange
	kxSeen    bool
	ocsp      bool
	flightErr error
}

// probe sends one ClientHello and reads the server's decision. A returned
// error means the server did not decide (closed, garbage, timeout); it is
// never to be read as "not accepted".
func (s *scanner) probe(ctx context.Context, spec helloSpec, wantFlight bool) (probeResult, error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return probeResult{}, ctx.Err()
	}
	defer func() { <-s.sem }()

	ctx, cancel := context.WithTimeout(ctx, s.cfg.HandshakeTimeout)
	defer cancel()
	conn, err := s.cfg.Dial(ctx, "tcp", s.cfg.Address)
	if err != nil {
		return probeResult{}, fmt.Errorf("dial %s: %w", s.cfg.Address, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return probeResult{}, fmt.Errorf("set deadline: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if _, err := s.fillRandom(&spec); err != nil {
		return probeResult{}, err
	}
	if _, err := conn.Write(marshalClientHello(spec)); err != nil {
		return probeResult{}, fmt.Errorf("send ClientHello: %w", err)
	}
	hr := &handshakeReader{r: conn}
	msg, err := hr.next()
	var alert *AlertError
	if errors.As(err, &alert) {
		return probeResult{alert: alert}, nil
	}
	if err != nil {
		return probeResult{}, fmt.Errorf("read ServerHello: %w", timeoutHint(err))
	}
	if msg.typ != msgServerHello {
		return probeResult{}, fmt.Errorf("%w: expected ServerHello, got handshake message %d", ErrMalformed, msg.typ)
	}
	sh, err := ParseServerHello(msg.body)
	if err != nil {
		return probeResult{}, err
	}
	res := probeResult{hello: sh}
	if wantFlight && sh.Version <= VersionTLS12 && !sh.HelloRetry {
		res.flightErr = readFlight(hr, sh, &res)
	}
	return res, nil
}

// readFlight reads Certificate, CertificateStatus and ServerKeyExchange up
// to ServerHelloDone.
func readFlight(hr *handshakeReader, sh *ServerHello, res *probeResult) error {
	suite, _ := SuiteByID(sh.CipherSuite)
	for {
		msg, err := hr.next()
		if err != nil {
			return timeoutHint(err)
		}
		switch msg.typ {
		case msgCertificate:
			certs, err := ParseCertificateMsg(msg.body)
			if err != nil {
				return err
			}
			res.certs = certs
		case msgCertificateStatus:
			res.ocsp = len(msg.body) > 4
		case msgServerKeyExchange:
			kx, err := parseServerKeyExchange(suite, msg.body)
			if err != nil {
				return err
			}
			res.kx, res.kxSeen = kx, true
		case msgCertificateReq:
		case msgServerHelloDone:
			return nil
		default:
			return fmt.Errorf("%w: unexpected handshake message %d in server flight", ErrMalformed, msg.typ)
		}
	}
}

// probeRetry retries once when the connection was closed or reset before
// the server decided (a busy server may drop a connection); timeouts are
// not retried so that a silent server costs one deadline.
func (s *scanner) probeRetry(ctx context.Context, spec helloSpec, wantFlight bool) (probeResult, error) {
	res, err := s.probe(ctx, spec, wantFlight)
	if err != nil && (errors.Is(err, ErrClosed) || neterr.Classify(err) == neterr.Reset) && ctx.Err() == nil {
		res, err = s.probe(ctx, spec, wantFlight)
	}
	return res, err
}

func (s *scanner) fillRandom(spec *helloSpec) (int, error) {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	n, err := s.cfg.Rand.Read(spec.random[:])
	if err != nil {
		return n, fmt.Errorf("random: %w", err)
	}
	if spec.version >= VersionTLS13 {
		spec.sessionID = make([]byte, 32)
		if _, err := s.cfg.Rand.Read(spec.sessionID); err != nil {
			return n, fmt.Errorf("random: %w", err)
		}
		for i := range spec.keyShares {
			if spec.keyShares[i].key == nil {
				spec.keyShares[i].key = make([]byte, 32)
				if _, err := s.cfg.Rand.Read(spec.keyShares[i].key); err != nil {
					return n, fmt.Errorf("random: %w", err)
				}
			}
		}
	}
	return n, nil
}

// ErrTimeout means the server did not answer within the handshake deadline.
var ErrTimeout = errors.New("server did not answer within the handshake deadline")

func timeoutHint(err error) error {
	if neterr.Classify(err) == neterr.Timeout {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return err
}
