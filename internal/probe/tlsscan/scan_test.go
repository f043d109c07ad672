package tlsscan

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// scanConfig is a test config for addr trusting ca.
func scanConfig(addr string, ca *testCA) Config {
	cfg := DefaultConfig(addr)
	cfg.SystemRoots = false
	cfg.HandshakeTimeout = 3 * time.Second
	if ca != nil {
		cfg.Roots = ca.pool()
	}
	return cfg
}

func mustScan(t *testing.T, cfg Config) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Scan(ctx, cfg)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return rep
}

func TestScanAgainstCryptoTLSServers(t *testing.T) {
	ca := newTestCA(t)
	leaf := issue(t, ca, leafOpts{ips: []net.IP{net.IPv4(127, 0, 0, 1)}, dnsNames: []string{"localhost"}})
	tests := []struct {
		name string
		cfg  *tls.Config
		want []string
	}{
		{
			name: "an ingestd-like server accepts exactly TLS 1.2 ECDHE AEAD suites and TLS 1.3",
			cfg: &tls.Config{
				MinVersion: tls.VersionTLS12,
				CipherSuites: []uint16{
					tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
					tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
				},
			},
			want: []string{
				"TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256", "TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384", "TLSv1.2 ECDHE-ECDSA-CHACHA20-POLY1305",
				"TLSv1.3 TLS_AES_128_GCM_SHA256", "TLSv1.3 TLS_AES_256_GCM_SHA384", "TLSv1.3 TLS_CHACHA20_POLY1305_SHA256",
			},
		},
		{
			name: "a legacy server with TLS 1.0 and a CBC suite is seen at every version it allows",
			cfg: &tls.Config{
				MinVersion:   tls.VersionTLS10,
				MaxVersion:   tls.VersionTLS12,
				CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA},
			},
			want: []string{
				"TLSv1.0 ECDHE-ECDSA-AES128-SHA", "TLSv1.1 ECDHE-ECDSA-AES128-SHA", "TLSv1.2 ECDHE-ECDSA-AES128-SHA",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Certificates = []tls.Certificate{leaf}
			addr := startTLSServer(t, tt.cfg)
			rep := mustScan(t, scanConfig(addr, ca))
			if err := rep.Complete(); err != nil {
				t.Fatalf("scan incomplete: %v", err)
			}
			got := rep.AcceptedWhere(nil)
			slices.Sort(got)
			slices.Sort(tt.want)
			if !slices.Equal(got, tt.want) {
				t.Errorf("accepted:\n got %q\nwant %q", got, tt.want)
			}
			c := rep.Certificate
			if !c.Trusted || c.TrustAnchor != "ca_file" || !c.HostnameMatch || !c.HasSAN || c.SelfSigned || c.Expired || c.KeyType != "ECDSA" || c.KeyBits != 256 || c.SignatureAlgorithm != "ECDSA-SHA256" {
				t.Errorf("certificate report: %+v", c)
			}
			for _, p := range rep.Protocols {
				for _, a := range p.Suites {
					if a.Suite.ECDHE() && a.Curve == "" && a.Version <= VersionTLS12 {
						t.Errorf("%v: no curve read from ServerKeyExchange", a)
					}
				}
			}
		})
	}
}

func TestScanReadsGroupsAndServerOrder(t *testing.T) {
	ca := newTestCA(t)
	leaf := issue(t, ca, leafOpts{key: "rsa2048", ips: []net.IP{net.IPv4(127, 0, 0, 1)}})
	addr := startTLSServer(t, &tls.Config{
		Certificates:     []tls.Certificate{leaf},
		MinVersion:       tls.VersionTLS12,
		MaxVersion:       tls.VersionTLS12,
		CurvePreferences: []tls.CurveID{tls.CurveP384, tls.X25519},
		CipherSuites:     []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384},
	})
	rep := mustScan(t, scanConfig(addr, ca))
	if err := rep.Complete(); err != nil {
		t.Fatal(err)
	}
	if p := rep.Protocol(VersionTLS13); p == nil || p.Supported {
		t.Errorf("TLS 1.3 reported supported on a TLS 1.2-only server: %+v", p)
	}
	if len(rep.Groups) != 1 || rep.Groups[0].Error != "" {
		t.Fatalf("groups: %+v", rep.Groups)
	}
	var names []string
	for _, g := range rep.Groups[0].Groups {
		names = append(names, g.Name)
	}
	slices.Sort(names)
	if want := []string{"secp384r1", "x25519"}; !slices.Equal(names, want) {
		t.Errorf("TLS 1.2 groups %v, want %v", names, want)
	}
	if rep.Certificate.KeyType != "RSA" || rep.Certificate.KeyBits != 2048 {
		t.Errorf("key %s-%d, want RSA-2048", rep.Certificate.KeyType, rep.Certificate.KeyBits)
	}
	// A crypto/tls server picks from its own preference list. Which list
	// depends on AES hardware and on whether the client's first suite is
	// AES-GCM, but with only AES-GCM suites configured both lists agree:
	// AES-128-GCM before AES-256-GCM, whatever order the client offers.
	p := rep.Protocol(VersionTLS12)
	if p.Preference != "server" {
		t.Errorf("TLS 1.2 preference %q, want \"server\" (crypto/tls enforces its own order)", p.Preference)
	}
	if got, want := rep.AcceptedWhere(nil), []string{"TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384"}; !slices.Equal(got, want) {
		t.Errorf("TLS 1.2 suites in the server's order: got %q, want %q", got, want)
	}
}

// hostile servers: each must yield an error for every version, never a
// refusal that could read as "not accepted".
func TestScanHostileServersEndInError(t *testing.T) {
	serverHelloPrefix := []byte{recordHandshake, 3, 3, 0, 80, msgServerHello, 0, 0, 76, 3, 3}
	tests := []struct {
		name   string
		handle func(c net.Conn, done <-chan struct{})
		want   error
	}{
		{
			name: "a server that closes the connection without a word is an error",
			handle: func(c net.Conn, _ <-chan struct{}) {
				readClientHello(c)
			},
			want: ErrClosed,
		},
		{
			name: "a server that sends garbage is an error",
			handle: func(c net.Conn, _ <-chan struct{}) {
				readClientHello(c)
				_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			},
			want: ErrMalformed,
		},
		{
			name: "a server that closes in the middle of a ServerHello is an error",
			handle: func(c net.Conn, _ <-chan struct{}) {
				readClientHello(c)
				_, _ = c.Write(serverHelloPrefix)
			},
			want: ErrClosed,
		},
		{
			name: "a server that never answers is an error within the deadline",
			handle: func(c net.Conn, done <-chan struct{}) {
				_, _ = io.Copy(io.Discard, c)
				<-done
			},
			want: ErrTimeout,
		},
		{
			name: "a server that stalls in the middle of a record is an error within the deadline",
			handle: func(c net.Conn, done <-chan struct{}) {
				readClientHello(c)
				_, _ = c.Write(serverHelloPrefix)
				<-done
			},
			want: ErrTimeout,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := startRawServer(t, tt.handle)
			cfg := scanConfig(addr, nil)
			cfg.HandshakeTimeout = time.Second
			bound := hostileScanBound(t, cfg)
			start := time.Now()
			rep := scanWithHangGuard(t, cfg)
			if elapsed := time.Since(start); elapsed > bound {
				t.Errorf("scan took %v, want at most %v (handshake timeout %v)", elapsed, bound, cfg.HandshakeTimeout)
			}
			for _, p := range rep.Protocols {
				if p.Error == "" || p.Supported || len(p.Suites) > 0 {
					t.Errorf("%v: want an error and nothing accepted, got %+v", p.Version, p)
				}
			}
			if rep.Certificate.Error == "" {
				t.Errorf("certificate: want an error, got %+v", rep.Certificate)
			}
			err := rep.Complete()
			if !errors.Is(err, ErrIncomplete) {
				t.Fatalf("Complete() = %v, want ErrIncomplete", err)
			}
			// the probe error itself carries the sentinel
			s := scanner{cfg: cfg, sem: make(chan struct{}, 1)}
			if err := s.cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			_, perr := s.probe(context.Background(), helloSpec{version: VersionTLS12, suites: legacySuiteIDs(), groups: groupIDs(true)}, true)
			if !errors.Is(perr, tt.want) {
				t.Errorf("probe error = %v, want %v", perr, tt.want)
			}
		})
	}
}

// hostileScanBound is the longest a scan of a server that never decides
// may take, derived from how Scan works: the enumeration of every version
// and the certificate fetch start at once (the test requires enough
// Parallelism that none waits for a slot); each stops at its first
// undecided handshake, which ends at HandshakeTimeout and is retried once
// only when the server closed the connection (probeRetry); no order, group
// or second fetch follows. So the longest path is two handshake deadlines.
// The 2 s slack covers a loaded CI machine under the race detector; it is
// twice the timeout the test uses, so a scanner that serialised the six
// tasks or waited a deadline per suite would still fail.
func hostileScanBound(t *testing.T, cfg Config) time.Duration {
	t.Helper()
	if tasks := len(AllVersions) + 1; cfg.Parallelism < tasks {
		t.Fatalf("parallelism %d < %d concurrent tasks: the bound assumes no task waits for a slot", cfg.Parallelism, tasks)
	}
	const handshakesOnLongestPath = 2 // the probe and its one retry after a close
	return handshakesOnLongestPath*cfg.HandshakeTimeout + 2*time.Second
}

// scanWithHangGuard scans like mustScan and, should Scan ignore its
// context, fails the test after a minute instead of hanging it.
func scanWithHangGuard(t *testing.T, cfg Config) *Report {
	t.Helper()
	type result struct {
		rep *Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		rep, err := Scan(ctx, cfg)
		done <- result{rep, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("Scan: %v", r.err)
		}
		return r.rep
	case <-time.After(time.Minute):
		t.Fatal("Scan did not return within a minute although its context expires after 30 s")
		return nil
	}
}

// connCounter wraps a Dial and records how many connections are open at
// once (dialled and not yet closed) and the peak.
type connCounter struct {
	mu         sync.Mutex
	open, peak int
	total      int
}

func (c *connCounter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.open++
	c.total++
	c.peak = max(c.peak, c.open)
	c.mu.Unlock()
	return &countedConn{Conn: conn, c: c}, nil
}

type countedConn struct {
	net.Conn
	c    *connCounter
	once sync.Once
}

func (cc *countedConn) Close() error {
	cc.once.Do(func() {
		cc.c.mu.Lock()
		cc.c.open--
		cc.c.mu.Unlock()
	})
	return cc.Conn.Close()
}

func TestScanNeverOpensMoreConnectionsThanParallelism(t *testing.T) {
	ca := newTestCA(t)
	leaf := issue(t, ca, leafOpts{key: "rsa2048", ips: []net.IP{net.IPv4(127, 0, 0, 1)}})
	var suites []uint16
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		suites = append(suites, cs.ID)
	}
	// TLS 1.0 to 1.3 with every suite crypto/tls has: four enumerations of
	// a dozen handshakes or more, which could all run at once. A peak of 3
	// proves the versions are enumerated in parallel (one enumeration and
	// the certificate fetch make only 2).
	addr := startTLSServer(t, &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS10, CipherSuites: suites})
	tests := []struct {
		name        string
		parallelism int
		wantMinPeak int
	}{
		{"a parallelism of 1 runs one handshake at a time", 1, 1},
		{"a parallelism of 2 runs two handshakes at once and never more", 2, 2},
		{"a parallelism of 3 runs three handshakes at once and never more", 3, 3},
		{"the default parallelism runs versions in parallel and never more than 8 handshakes", DefaultConfig(addr).Parallelism, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cc connCounter
			cfg := scanConfig(addr, ca)
			cfg.Parallelism = tt.parallelism
			cfg.Dial = cc.dial
			rep := mustScan(t, cfg)
			if err := rep.Complete(); err != nil {
				t.Fatalf("scan incomplete: %v", err)
			}
			if n := len(rep.Accepted()); n < 20 {
				t.Fatalf("only %d accepted pairs: the endpoint does not need many handshakes", n)
			}
			cc.mu.Lock()
			defer cc.mu.Unlock()
			if cc.open != 0 {
				t.Errorf("%d connections still open after the scan", cc.open)
			}
			if cc.peak > tt.parallelism || cc.peak < tt.wantMinPeak {
				t.Errorf("peak of %d concurrent connections over %d handshakes, want %d to %d", cc.peak, cc.total, tt.wantMinPeak, tt.parallelism)
			}
			t.Logf("peak %d concurrent connections over %d handshakes", cc.peak, cc.total)
		})
	}
}

func TestScanRefusesABadConfig(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"an address without a port is refused", func(c *Config) { c.Address = "127.0.0.1" }, "address"},
		{"a zero handshake timeout is refused", func(c *Config) { c.HandshakeTimeout = 0 }, "timeout"},
		{"zero parallelism is refused", func(c *Config) { c.Parallelism = 0 }, "parallelism"},
		{"SSLv2 cannot be probed", func(c *Config) { c.Versions = []Version{0x0002} }, "version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig("127.0.0.1:1")
			tt.mod(&cfg)
			_, err := Scan(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestSuiteClassification(t *testing.T) {
	tests := []struct {
		id   uint16
		name string
		fs   bool
	}{
		{0xC02F, "ECDHE-RSA-AES128-GCM-SHA256", true},
		{0x0001, "NULL-MD5", false},
		{0x0034, "ADH-AES128-SHA", true},
		{0x0003, "EXP-RC4-MD5", false},
		{0x000A, "DES-CBC3-SHA", false},
		{0x0009, "DES-CBC-SHA", false},
		{0x0005, "RC4-SHA", false},
		{0x009C, "AES128-GCM-SHA256", false},
		{0x1301, "TLS_AES_128_GCM_SHA256", true},
		{0x0096, "SEED-SHA", false},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is classified like OpenSSL does", func(t *testing.T) {
			s, ok := SuiteByID(tt.id)
			if !ok || s.Name() != tt.name {
				t.Fatalf("SuiteByID(0x%04X) = %v, %v", tt.id, s, ok)
			}
			if s.ForwardSecret() != tt.fs {
				t.Errorf("forward secret %v, want %v", s.ForwardSecret(), tt.fs)
			}
		})
	}
	if n := len(suiteByID); n < 340 {
		t.Errorf("only %d suites known", n)
	}
}

// readClientHello consumes one record so that closing does not reset.
func readClientHello(c net.Conn) {
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(c, hdr); err != nil {
		return
	}
	_, _ = io.CopyN(io.Discard, c, int64(hdr[3])<<8|int64(hdr[4]))
}

func TestScanOfAServerThatRefusesEverythingIsDecided(t *testing.T) {
	addr := startRawServer(t, func(c net.Conn, _ <-chan struct{}) {
		readClientHello(c)
		_, _ = c.Write([]byte{recordAlert, 3, 1, 0, 2, 2, 40}) // fatal handshake_failure
	})
	cfg := scanConfig(addr, nil)
	rep := mustScan(t, cfg)
	for _, p := range rep.Protocols {
		if p.Error != "" || p.Supported {
			t.Errorf("%v: want a decided refusal, got %+v", p.Version, p)
		}
	}
	if rep.Certificate.Error == "" {
		t.Errorf("no certificate can come from a server that refuses every handshake: %+v", rep.Certificate)
	}
}

func TestReportConvertsToTheResultModel(t *testing.T) {
	ca := newTestCA(t)
	leaf := issue(t, ca, leafOpts{ips: []net.IP{net.IPv4(127, 0, 0, 1)}})
	addr := startTLSServer(t, &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS13})
	rep := mustScan(t, scanConfig(addr, ca))
	ev := rep.Evidence(nil, "detail")
	if ev.Address != addr || ev.Version != "TLSv1.3" || ev.CipherSuite == "" || len(ev.Accepted) != 3 || ev.Detail != "detail" {
		t.Errorf("evidence: %+v", ev)
	}
	if len(ev.Certificates) != 1 {
		t.Fatalf("certificates: %+v", ev.Certificates)
	}
	ci := ev.Certificates[0]
	if ci.KeyType != "ECDSA" || ci.KeyBits != 256 || ci.SHA256 != CertSHA256(leaf.Leaf) || len(ci.IPAddresses) != 1 || ci.IPAddresses[0] != "127.0.0.1" || ci.SignatureAlgorithm != "ECDSA-SHA256" {
		t.Errorf("cert info: %+v", ci)
	}
	for _, a := range ev.Accepted {
		if !strings.HasPrefix(a, "TLSv1.3 TLS_") {
			t.Errorf("accepted pair %q", a)
		}
	}
}

func TestScanReportsOCSPStaplingAsInformation(t *testing.T) {
	ca := newTestCA(t)
	leaf := issue(t, ca, leafOpts{ips: []net.IP{net.IPv4(127, 0, 0, 1)}})
	stapled := leaf
	stapled.OCSPStaple = []byte{0x30, 0x03, 0x0a, 0x01, 0x00} // any bytes: the scanner does not judge them
	for _, tt := range []struct {
		name string
		cert tls.Certificate
		want bool
	}{
		{"a server that staples an OCSP response is reported as stapling", stapled, true},
		{"a server without a staple is reported as not stapling", leaf, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := startTLSServer(t, &tls.Config{Certificates: []tls.Certificate{tt.cert}})
			rep := mustScan(t, scanConfig(addr, ca))
			if rep.Certificate.OCSPStapled != tt.want {
				t.Errorf("OCSPStapled = %v, want %v", rep.Certificate.OCSPStapled, tt.want)
			}
		})
	}
}

// dheOnlyServer speaks just enough TLS 1.2 to accept DHE-RSA-AES128-GCM-SHA256
// (a suite crypto/tls does not implement) with a 1024-bit group, sending
// der as its certificate; it refuses every other ClientHello with an alert.
func dheOnlyServer(t *testing.T, der []byte) string {
	return startRawServer(t, func(c net.Conn, _ <-chan struct{}) {
		hr := &handshakeReader{r: c}
		msg, err := hr.next()
		if err != nil || msg.typ != msgClientHello {
			return
		}
		cur := cursor{b: msg.body}
		version := cur.u16()
		cur.bytes(32)
		cur.bytes(int(cur.u8()))
		suites := cursor{b: cur.bytes(int(cur.u16()))}
		offered := false
		for !suites.empty() {
			if suites.u16() == 0x009E {
				offered = true
			}
		}
		if version != 0x0303 || !offered {
			_, _ = c.Write([]byte{recordAlert, 3, 3, 0, 2, 2, 40})
			return
		}
		var flight []byte
		addMsg := func(typ byte, body []byte) {
			flight = append(flight, typ, byte(len(body)>>16), byte(len(body)>>8), byte(len(body)))
			flight = append(flight, body...)
		}
		addMsg(msgServerHello, serverHelloBody(0x0303, nil, 0x009E))
		certs := []byte{byte(len(der) >> 16), byte(len(der) >> 8), byte(len(der))}
		certs = append(certs, der...)
		addMsg(msgCertificate, append([]byte{byte(len(certs) >> 16), byte(len(certs) >> 8), byte(len(certs))}, certs...))
		p, _ := new(big.Int).SetString(oakleyGroup2, 16)
		ske := append([]byte{0, 128}, p.Bytes()...)
		ske = append(ske, 0, 1, 2, 0, 1, 7, 4, 1, 0, 1, 0)
		addMsg(msgServerKeyExchange, ske)
		addMsg(msgServerHelloDone, nil)
		for len(flight) > 0 {
			n := min(len(flight), 16384)
			_, _ = c.Write(append([]byte{recordHandshake, 3, 3, byte(n >> 8), byte(n)}, flight[:n]...))
			flight = flight[n:]
		}
	})
}

func TestScanReadsWhatCryptoTLSCannotNegotiate(t *testing.T) {
	ca := newTestCA(t)
	leaf := issue(t, ca, leafOpts{key: "rsa2048", ips: []net.IP{net.IPv4(127, 0, 0, 1)}})
	addr := dheOnlyServer(t, leaf.Certificate[0])
	rep := mustScan(t, scanConfig(addr, ca))
	if err := rep.Complete(); err != nil {
		t.Fatalf("scan incomplete: %v", err)
	}
	if got := rep.AcceptedWhere(nil); len(got) != 1 || got[0] != "TLSv1.2 DHE-RSA-AES128-GCM-SHA256" {
		t.Fatalf("accepted %v", got)
	}
	if bits := rep.MinDHBits(); bits != 1024 {
		t.Errorf("DH bits %d, want 1024", bits)
	}
	c := rep.Certificate
	if !c.Trusted || c.KeyType != "RSA" || c.KeyBits != 2048 || len(c.Chain) != 1 || !c.HostnameMatch {
		t.Errorf("certificate read from the raw handshake: %+v", c)
	}
}

// legacyServerOpts describes a raw server that speaks one version <= TLS 1.2.
type legacyServerOpts struct {
	version Version
	suites  []uint16 // accepted, in the server's preference order
	// clientOrder takes the client's first acceptable suite instead of the
	// server's.
	clientOrder bool
	der         []byte // certificate sent in the flight
}

// legacyServer speaks just enough SSLv3 or TLS 1.0-1.2 to accept static RSA
// suites at exactly one version, like an old appliance: a ClientHello at
// that version or above gets a ServerHello at its version (the client then
// decides whether it speaks it), Certificate and ServerHelloDone; a lower
// one gets a protocol_version alert, no common suite a handshake_failure.
// Debian's OpenSSL 3 has no SSLv3, so this is the only SSLv3 peer.
func legacyServer(t *testing.T, o legacyServerOpts) string {
	t.Helper()
	return startRawServer(t, func(c net.Conn, _ <-chan struct{}) {
		hr := &handshakeReader{r: c}
		msg, err := hr.next()
		if err != nil || msg.typ != msgClientHello {
			return
		}
		cur := cursor{b: msg.body}
		clientVersion := Version(cur.u16())
		cur.bytes(32)
		cur.bytes(int(cur.u8()))
		list := cursor{b: cur.bytes(int(cur.u16()))}
		var offered []uint16
		for !list.empty() {
			offered = append(offered, list.u16())
		}
		alert := func(desc byte) {
			_, _ = c.Write([]byte{recordAlert, byte(o.version >> 8), byte(o.version), 0, 2, 2, desc})
		}
		if cur.err != nil || list.err != nil {
			alert(50) // decode_error
			return
		}
		if clientVersion < o.version {
			alert(70) // protocol_version
			return
		}
		first, second := o.suites, offered
		if o.clientOrder {
			first, second = offered, o.suites
		}
		i := slices.IndexFunc(first, func(id uint16) bool { return slices.Contains(second, id) })
		if i < 0 {
			alert(40) // handshake_failure
			return
		}
		var flight []byte
		addMsg := func(typ byte, body []byte) {
			flight = append(flight, typ, byte(len(body)>>16), byte(len(body)>>8), byte(len(body)))
			flight = append(flight, body...)
		}
		addMsg(msgServerHello, serverHelloBody(uint16(o.version), nil, first[i]))
		certs := []byte{byte(len(o.der) >> 16), byte(len(o.der) >> 8), byte(len(o.der))}
		certs = append(certs, o.der...)
		addMsg(msgCertificate, append([]byte{byte(len(certs) >> 16), byte(len(certs) >> 8), byte(len(certs))}, certs...))
		addMsg(msgServerHelloDone, nil)
		_, _ = c.Write(append([]byte{recordHandshake, byte(o.version >> 8), byte(o.version), byte(len(flight) >> 8), byte(len(flight))}, flight...))
	})
}

func TestScanOfLegacyRawServers(t *testing.T) {
	ca := newTestCA(t)
	leaf := issue(t, ca, leafOpts{key: "rsa2048", ips: []net.IP{net.IPv4(127, 0, 0, 1)}})
	serverList := []uint16{0x000A, 0x0035, 0x002F} // DES-CBC3-SHA, AES256-SHA, AES128-SHA
	tests := []struct {
		name        string
		opts        legacyServerOpts
		wantOrder   string
		wantSuites  []string // in the order the server chose them; nil: only the set is checked
		wantVersion Version
	}{
		{
			name:        "an SSLv3 server is reported as accepting SSLv3 and nothing else, in its own order",
			opts:        legacyServerOpts{version: VersionSSL30, suites: serverList},
			wantOrder:   "server",
			wantSuites:  []string{"SSLv3 DES-CBC3-SHA", "SSLv3 AES256-SHA", "SSLv3 AES128-SHA"},
			wantVersion: VersionSSL30,
		},
		{
			name:        "a TLS 1.2 server that picks from its own list is reported as enforcing server order",
			opts:        legacyServerOpts{version: VersionTLS12, suites: serverList},
			wantOrder:   "server",
			wantSuites:  []string{"TLSv1.2 DES-CBC3-SHA", "TLSv1.2 AES256-SHA", "TLSv1.2 AES128-SHA"},
			wantVersion: VersionTLS12,
		},
		{
			name:        "a TLS 1.2 server that takes the client's first acceptable suite is reported as client order",
			opts:        legacyServerOpts{version: VersionTLS12, suites: serverList, clientOrder: true},
			wantOrder:   "client",
			wantVersion: VersionTLS12,
		},
		{
			name:        "a TLS 1.0 server that takes the client's first acceptable suite is reported as client order",
			opts:        legacyServerOpts{version: VersionTLS10, suites: serverList, clientOrder: true},
			wantOrder:   "client",
			wantVersion: VersionTLS10,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.der = leaf.Certificate[0]
			addr := legacyServer(t, tt.opts)
			rep := mustScan(t, scanConfig(addr, ca))
			if err := rep.Complete(); err != nil {
				t.Fatalf("scan incomplete: %v", err)
			}
			for _, p := range rep.Protocols {
				if p.Supported != (p.Version == tt.wantVersion) {
					t.Errorf("%v supported = %v, want it only for %v", p.Version, p.Supported, tt.wantVersion)
				}
			}
			got := rep.AcceptedWhere(nil)
			want := tt.wantSuites
			if want == nil {
				for _, id := range serverList {
					s, _ := SuiteByID(id)
					want = append(want, tt.wantVersion.String()+" "+s.Name())
				}
				got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
			}
			if !slices.Equal(got, want) {
				t.Errorf("accepted %q, want %q", got, want)
			}
			if p := rep.Protocol(tt.wantVersion); p.Preference != tt.wantOrder {
				t.Errorf("%v preference %q, want %q", tt.wantVersion, p.Preference, tt.wantOrder)
			}
			c := rep.Certificate
			if !c.Trusted || c.KeyType != "RSA" || c.KeyBits != 2048 || !c.HostnameMatch {
				t.Errorf("certificate read from the raw %v handshake: %+v", tt.wantVersion, c)
			}
		})
	}
}
