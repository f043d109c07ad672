// Package tlsscan assesses a TLS endpoint the way sslscan and testssl.sh
// do, in pure Go: it enumerates every protocol version (SSLv3 to TLS 1.3)
// and every cipher suite the server accepts with crafted ClientHellos
// (including suites crypto/tls does not implement: NULL, anonymous, export,
// RC4, DES, 3DES, SEED, CAMELLIA, ARIA, static RSA, DHE), the server's
// cipher order, DH group sizes and key exchange groups, and analyses the
// certificate chain (trust, validity, hostname, key, signature).
//
// The scanner observes and never judges: its Report says what the server
// accepted and what it could not decide (Error fields). Controls in
// internal/audit turn it into verdicts. A server that closes mid-handshake,
// sends garbage or never answers yields an error within the deadline,
// never a "not accepted".
package tlsscan

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"
)

// Report is everything the scan saw.
type Report struct {
	Address    string `json:"address"`
	ServerName string `json:"server_name"`
	// Protocols has one entry per probed version, oldest first.
	Protocols []ProtocolResult `json:"protocols"`
	// Groups lists the key exchange groups the server accepts, per version
	// family (TLS 1.3 via HelloRetryRequest, TLS 1.2 via ServerKeyExchange).
	Groups      []GroupResult `json:"groups"`
	Certificate CertReport    `json:"certificate"`
	StartedAt   time.Time     `json:"started_at"`
	Duration    time.Duration `json:"duration_ns"`
}

// ProtocolResult is the outcome for one version.
type ProtocolResult struct {
	Version Version `json:"version"`
	// Supported is true when at least one suite was accepted.
	Supported bool `json:"supported"`
	// Suites are the accepted suites in the order the server chose them.
	Suites []AcceptedSuite `json:"suites"`
	// Preference is "server" (the server enforces its order, so Suites is
	// its order), "client", or "" when fewer than two suites or undecided.
	Preference string `json:"preference,omitempty"`
	// Error is set when the server did not decide; Supported and Suites
	// are then incomplete and must not be read as a refusal.
	Error string `json:"error,omitempty"`
}

// AcceptedSuite is one accepted (version, suite) pair.
type AcceptedSuite struct {
	Version Version `json:"version"`
	Suite   Suite   `json:"suite"`
	// DHBits is the DHE prime size seen in ServerKeyExchange (0 if not DHE).
	DHBits int `json:"dh_bits,omitempty"`
	// Curve is the ECDHE curve seen in ServerKeyExchange.
	Curve string `json:"curve,omitempty"`
	// Error is set when the key exchange parameters could not be read.
	Error string `json:"error,omitempty"`
}

// String is "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256", the evidence format.
func (a AcceptedSuite) String() string { return a.Version.String() + " " + a.Suite.Name() }

// GroupResult lists the groups accepted in one protocol family.
type GroupResult struct {
	Version Version `json:"version"`
	Groups  []Group `json:"groups"`
	Error   string  `json:"error,omitempty"`
}

// scanner holds the state of one scan.
type scanner struct {
	cfg    Config
	sem    chan struct{}
	randMu sync.Mutex

	mu         sync.Mutex
	rawChain   [][]byte
	rawOCSP    bool
	rawVersion Version
}

// Scan runs the whole assessment. The error is for an unusable config or a
// cancelled context; everything the server failed to answer is recorded in
// the Report's Error fields.
func Scan(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &scanner{cfg: cfg, sem: make(chan struct{}, cfg.Parallelism)}
	start := cfg.Now()
	rep := &Report{Address: cfg.Address, ServerName: cfg.ServerName, StartedAt: start}
	begin := time.Now()

	rep.Protocols = make([]ProtocolResult, len(cfg.Versions))
	var wg sync.WaitGroup
	for i, v := range cfg.Versions {
		wg.Go(func() { rep.Protocols[i] = s.enumerate(ctx, v) })
	}
	var chain []*x509.Certificate
	var ocsp bool
	var chainErr error
	wg.Go(func() { chain, ocsp, chainErr = s.fetchChain(ctx) })
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("tlsscan %s: %w", cfg.Address, err)
	}
	slices.SortFunc(rep.Protocols, func(a, b ProtocolResult) int { return int(a.Version) - int(b.Version) })

	wg.Go(func() { rep.Groups = s.enumerateGroups(ctx, rep.Protocols) })
	if chainErr != nil {
		s.mu.Lock()
		if len(s.rawChain) > 0 {
			parsed, err := parseChain(s.rawChain)
			if err == nil {
				chain, ocsp, chainErr = parsed, s.rawOCSP, nil
			} else {
				chainErr = fmt.Errorf("%w (and the chain read from a raw handshake: %w)", chainErr, err)
			}
		}
		s.mu.Unlock()
	}
	if chainErr != nil {
		rep.Certificate = CertReport{Error: chainErr.Error()}
	} else {
		rep.Certificate = AnalyzeChain(chain, ChainOptions{
			ServerName:  cfg.ServerName,
			Roots:       cfg.Roots,
			SystemRoots: cfg.SystemRoots,
			Now:         cfg.Now(),
		})
		rep.Certificate.OCSPStapled = ocsp
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("tlsscan %s: %w", cfg.Address, err)
	}
	rep.Duration = time.Since(begin)
	return rep, nil
}

// enumerate finds every suite accepted at version v, sslscan's way: offer
// all, remove the chosen one, repeat until the server refuses.
func (s *scanner) enumerate(ctx context.Context, v Version) ProtocolResult {
	pr := ProtocolResult{Version: v}
	offer := legacySuiteIDs()
	var shares []keyShare
	if v == VersionTLS13 {
		offer = tls13SuiteIDs()
		shares = []keyShare{{group: 0x001d}}
	}
	for len(offer) > 0 {
		spec := helloSpec{version: v, suites: offer, groups: groupIDs(true), keyShares: shares, serverName: s.sni()}
		res, err := s.probeRetry(ctx, spec, v <= VersionTLS12)
		if err != nil {
			pr.Error = fmt.Sprintf("%v: %v", v, err)
			break
		}
		if res.alert != nil {
			s.cfg.Logger.Debug("tls probe refused", "address", s.cfg.Address, "version", v, "offered", len(offer), "alert", res.alert.Description)
			break
		}
		sh := res.hello
		if sh.Version != v {
			if len(pr.Suites) == 0 {
				// The server answered with another version (a lower one, or,
				// violating the protocol, a higher one): it does not speak v.
				s.cfg.Logger.Debug("tls version not supported", "address", s.cfg.Address, "version", v, "server_version", sh.Version)
				break
			}
			pr.Error = fmt.Sprintf("%v: server answered with version %v", v, sh.Version)
			break
		}
		if !slices.Contains(offer, sh.CipherSuite) {
			pr.Error = fmt.Sprintf("%v: server chose suite 0x%04X that was not offered", v, sh.CipherSuite)
			break
		}
		suite, _ := SuiteByID(sh.CipherSuite)
		acc := AcceptedSuite{Version: v, Suite: suite}
		if v <= VersionTLS12 {
			s.recordFlight(v, res)
			switch {
			case res.flightErr != nil && (suite.DHE() || suite.ECDHE()):
				acc.Error = "key exchange parameters: " + res.flightErr.Error()
			case suite.DHE():
				acc.DHBits = res.kx.dhBits
				if !res.kxSeen {
					acc.Error = "no ServerKeyExchange for a DHE suite"
				}
			case suite.ECDHE():
				if res.kxSeen {
					acc.Curve = GroupByID(res.kx.curve).Name
				}
			}
		}
		s.cfg.Logger.Debug("tls suite accepted", "address", s.cfg.Address, "version", v, "suite", suite.Name())
		pr.Suites = append(pr.Suites, acc)
		offer = slices.DeleteFunc(offer, func(id uint16) bool { return id == sh.CipherSuite })
	}
	pr.Supported = len(pr.Suites) > 0
	if len(pr.Suites) >= 2 && pr.Error == "" {
		pr.Preference = s.preference(ctx, v, pr.Suites[0].Suite.ID, pr.Suites[len(pr.Suites)-1].Suite.ID, shares)
	}
	return pr
}

// preference offers two accepted suites in both orders: a server that picks
// the same one twice enforces its own order.
func (s *scanner) preference(ctx context.Context, v Version, a, b uint16, shares []keyShare) string {
	pick := func(order []uint16) (uint16, bool) {
		spec := helloSpec{version: v, suites: order, groups: groupIDs(true), keyShares: shares, serverName: s.sni()}
		res, err := s.probeRetry(ctx, spec, false)
		if err != nil || res.hello == nil {
			return 0, false
		}
		return res.hello.CipherSuite, true
	}
	first, ok1 := pick([]uint16{b, a})
	second, ok2 := pick([]uint16{a, b})
	switch {
	case !ok1 || !ok2:
		return ""
	case first == second:
		return "server"
	default:
		return "client"
	}
}

func (s *scanner) recordFlight(v Version, res probeResult) {
	if len(res.certs) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.rawChain) == 0 || v > s.rawVersion {
		s.rawChain, s.rawOCSP, s.rawVersion = res.certs, res.ocsp, v
	}
}

// enumerateGroups lists the accepted groups for TLS 1.3 (empty key_share,
// read the HelloRetryRequest's group) and for the highest older version
// with ECDHE suites (read the ServerKeyExchange's curve).
func (s *scanner) enumerateGroups(ctx context.Context, protos []ProtocolResult) []GroupResult {
	var out []GroupResult
	var mu sync.Mutex
	var wg sync.WaitGroup
	add := func(g GroupResult) {
		mu.Lock()
		out = append(out, g)
		mu.Unlock()
	}
	var legacy *ProtocolResult
	for i := range protos {
		p := &protos[i]
		if !p.Supported {
			continue
		}
		if p.Version == VersionTLS13 {
			var suites []uint16
			for _, a := range p.Suites {
				suites = append(suites, a.Suite.ID)
			}
			wg.Go(func() { add(s.groups(ctx, VersionTLS13, suites, groupIDs(true))) })
			continue
		}
		if slices.ContainsFunc(p.Suites, func(a AcceptedSuite) bool { return a.Suite.ECDHE() }) {
			legacy = p
		}
	}
	if legacy != nil {
		var suites []uint16
		for _, a := range legacy.Suites {
			if a.Suite.ECDHE() {
				suites = append(suites, a.Suite.ID)
			}
		}
		v := legacy.Version
		wg.Go(func() { add(s.groups(ctx, v, suites, groupIDs(false))) })
	}
	wg.Wait()
	slices.SortFunc(out, func(a, b GroupResult) int { return int(b.Version) - int(a.Version) })
	return out
}

func (s *scanner) groups(ctx context.Context, v Version, suites, offer []uint16) GroupResult {
	gr := GroupResult{Version: v}
	for len(offer) > 0 {
		spec := helloSpec{version: v, suites: suites, groups: offer, serverName: s.sni()}
		res, err := s.probeRetry(ctx, spec, v <= VersionTLS12)
		if err != nil {
			gr.Error = fmt.Sprintf("%v groups: %v", v, err)
			return gr
		}
		if res.alert != nil {
			return gr
		}
		var id uint16
		if v == VersionTLS13 {
			id = res.hello.Group
		} else if res.kxSeen {
			id = res.kx.curve
		}
		if id == 0 || !slices.Contains(offer, id) {
			if v <= VersionTLS12 && res.flightErr == nil && !res.kxSeen && len(gr.Groups) > 0 {
				return gr
			}
			gr.Error = fmt.Sprintf("%v groups: server chose no offered group (got 0x%04x)", v, id)
			return gr
		}
		gr.Groups = append(gr.Groups, GroupByID(id))
		offer = slices.DeleteFunc(slices.Clone(offer), func(g uint16) bool { return g == id })
	}
	return gr
}

// sni is the server_name to send: none for an IP address.
func (s *scanner) sni() string {
	if net.ParseIP(s.cfg.ServerName) != nil {
		return ""
	}
	return s.cfg.ServerName
}

// ErrIncomplete is returned by Report.Complete when part of the scan could
// not decide.
var ErrIncomplete = errors.New("tls scan incomplete")
