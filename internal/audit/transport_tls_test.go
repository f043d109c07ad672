package audit

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/gateway/auth"
	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/server"
	"github.com/hardgate/hardgate/internal/pki"
	"github.com/hardgate/hardgate/internal/probe/tlsscan"
	"github.com/hardgate/hardgate/internal/result"
)

var transportTLSIDs = []string{
	"transport_tls.legacy_protocol_enabled",
	"transport_tls.weak_cipher_suites",
	"transport_tls.no_forward_secrecy",
	"transport_tls.weak_dh_group",
	"transport_tls.certificate_untrusted",
	"transport_tls.certificate_expired",
	"transport_tls.certificate_expiring_soon",
	"transport_tls.hostname_mismatch",
	"transport_tls.weak_key",
	"transport_tls.weak_signature",
	"transport_tls.tls13_not_supported",
}

func allTLS(st result.Status) map[string]result.Status {
	m := map[string]result.Status{}
	for _, id := range transportTLSIDs {
		m[id] = st
	}
	return m
}

// startIngestd runs the real ingestd server in its hardened default state
// (TLS 1.2+, ECDHE AEAD suites, ECDSA P-256 certificate with SANs from a
// test CA) and returns its HTTPS address and the CA file.
func startIngestd(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	certs, err := pki.WriteFiles(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tokens := filepath.Join(dir, "tokens.yaml")
	if _, err := auth.AddToken(tokens, "device-01"); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Listen.HTTPS = "127.0.0.1:0"
	cfg.TLS.CertFile, cfg.TLS.KeyFile = certs.Cert, certs.Key
	cfg.Auth.TokensFile = tokens
	cfg.Store.Dir = filepath.Join(dir, "store")
	if err := cfg.Validate(); err != nil {
		t.Fatalf("ingestd config: %v", err)
	}
	srv, err := server.New(cfg, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
		cancel()
	})
	return srv.HTTPSAddr(), certs.CA
}

func TestIngestdAfterStatePassesEveryTransportTLSControl(t *testing.T) {
	addr, caFile := startIngestd(t)
	res := mustRun(t, &Target{Name: "ingestd", Ingest: Ingest{URLs: []string{"https://" + addr + "/v1/ingest"}, CAFile: caFile}})
	wantStatus(t, res, allTLS(result.StatusPass))
	ev := control(t, res, "transport_tls.weak_cipher_suites").Evidence
	if len(ev) != 1 || ev[0].TLS == nil || len(ev[0].TLS.Accepted) == 0 {
		t.Fatalf("evidence lacks the accepted pairs: %+v", ev)
	}
	for _, pair := range ev[0].TLS.Accepted {
		if !strings.HasPrefix(pair, "TLSv1.3 ") && !strings.HasPrefix(pair, "TLSv1.2 ECDHE-") {
			t.Errorf("ingestd accepted %q", pair)
		}
	}
	if got := res.Target.TLSAddrs; len(got) != 1 || got[0] != addr {
		t.Errorf("target tls_addrs = %v, want [%s]", got, addr)
	}
}

// weakServer serves TLS 1.0-1.2 with static RSA and 3DES suites, no TLS
// 1.3, and a self-signed RSA-1024 SHA-1 certificate without SAN that
// expires in five days.
func weakServer(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(5 * 24 * time.Hour),
		SignatureAlgorithm: x509.SHA1WithRSA, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return serveHandshakes(t, &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS10, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA},
	})
}

func TestAWeakTLSEndpointFailsTheTransportTLSControls(t *testing.T) {
	addr := weakServer(t)
	res := mustRun(t, &Target{Name: "weak", Ingest: Ingest{URLs: []string{"https://127.0.0.1:1/v1/ingest"}}, TLS: TLSSpec{Addresses: []string{addr}}})
	want := map[string]result.Status{
		"transport_tls.legacy_protocol_enabled":   result.StatusFail,
		"transport_tls.weak_cipher_suites":        result.StatusFail,
		"transport_tls.no_forward_secrecy":        result.StatusFail,
		"transport_tls.weak_dh_group":             result.StatusError, // the closed https URL cannot be scanned
		"transport_tls.certificate_untrusted":     result.StatusFail,
		"transport_tls.certificate_expired":       result.StatusError,
		"transport_tls.certificate_expiring_soon": result.StatusFail,
		"transport_tls.hostname_mismatch":         result.StatusFail,
		"transport_tls.weak_key":                  result.StatusFail,
		"transport_tls.weak_signature":            result.StatusFail,
		"transport_tls.tls13_not_supported":       result.StatusFail,
	}
	wantStatus(t, res, want)
	ev := control(t, res, "transport_tls.weak_cipher_suites").Evidence
	var accepted []string
	for _, e := range ev {
		if e.TLS != nil && e.TLS.Address == addr {
			accepted = e.TLS.Accepted
		}
	}
	wantPairs := []string{"TLSv1.0 DES-CBC3-SHA", "TLSv1.1 DES-CBC3-SHA", "TLSv1.2 DES-CBC3-SHA"}
	if strings.Join(accepted, ",") != strings.Join(wantPairs, ",") {
		t.Errorf("weak_cipher_suites evidence lists %v, want exactly %v", accepted, wantPairs)
	}
}

func TestTransportTLSIsNotApplicableWithoutTLSEndpoints(t *testing.T) {
	res := mustRun(t, &Target{Name: "plain", Ingest: Ingest{URLs: []string{"http://127.0.0.1:1/v1/ingest"}}})
	wantStatus(t, res, allTLS(result.StatusNotApplicable))
}

func TestTargetRejectsBadTLSAddresses(t *testing.T) {
	tests := []struct {
		name string
		spec TLSSpec
		want string
	}{
		{"an address without a port is refused", TLSSpec{Addresses: []string{"127.0.0.1"}}, "tls.addresses[0]"},
		{"a negative expiry window is refused", TLSSpec{ExpiryWarningDays: -1}, "tls.expiry_warning_days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tgt := &Target{Ingest: Ingest{URLs: []string{"https://127.0.0.1:8443/v1/ingest"}}, TLS: tt.spec}
			err := tgt.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

// synthetic builds an observation from a hand-made scan report.
func synthetic(mod func(r *tlsscan.Report)) *Observations {
	suite := func(id uint16) tlsscan.Suite { s, _ := tlsscan.SuiteByID(id); return s }
	r := &tlsscan.Report{Address: "127.0.0.1:8443", ServerName: "127.0.0.1"}
	for _, v := range tlsscan.AllVersions {
		r.Protocols = append(r.Protocols, tlsscan.ProtocolResult{Version: v})
	}
	r.Protocol(tlsscan.VersionTLS12).Supported = true
	r.Protocol(tlsscan.VersionTLS12).Suites = []tlsscan.AcceptedSuite{{Version: tlsscan.VersionTLS12, Suite: suite(0xC02F), Curve: "x25519"}}
	r.Protocol(tlsscan.VersionTLS13).Supported = true
	r.Protocol(tlsscan.VersionTLS13).Suites = []tlsscan.AcceptedSuite{{Version: tlsscan.VersionTLS13, Suite: suite(0x1301)}}
	mod(r)
	return &Observations{Target: &Target{}, TLS: []TLSObservation{{Address: r.Address, ServerName: r.ServerName, Report: r}}}
}

func TestTransportTLSControlsNeverPassWhatTheScanCouldNotDecide(t *testing.T) {
	tests := []struct {
		name string
		mod  func(r *tlsscan.Report)
		eval func(*Observations, *catalog.Control) Verdict
		want result.Status
	}{
		{
			name: "a legacy version the server did not answer makes legacy_protocol_enabled an error",
			mod:  func(r *tlsscan.Report) { r.Protocol(tlsscan.VersionTLS10).Error = "TLSv1.0: read ServerHello: timeout" },
			eval: evalLegacyProtocol, want: result.StatusError,
		},
		{
			name: "an undecided TLS 1.2 makes weak_cipher_suites an error",
			mod:  func(r *tlsscan.Report) { r.Protocol(tlsscan.VersionTLS12).Error = "TLSv1.2: connection closed" },
			eval: evalWeakCipherSuites, want: result.StatusError,
		},
		{
			name: "a DHE suite whose parameters were not read makes weak_dh_group an error",
			mod: func(r *tlsscan.Report) {
				s, _ := tlsscan.SuiteByID(0x009E)
				p := r.Protocol(tlsscan.VersionTLS12)
				p.Suites = append(p.Suites, tlsscan.AcceptedSuite{Version: tlsscan.VersionTLS12, Suite: s, Error: "no ServerKeyExchange"})
			},
			eval: evalWeakDHGroup, want: result.StatusError,
		},
		{
			name: "an undecided TLS 1.3 makes tls13_not_supported an error",
			mod: func(r *tlsscan.Report) {
				p := r.Protocol(tlsscan.VersionTLS13)
				p.Supported, p.Suites, p.Error = false, nil, "TLSv1.3: garbage"
			},
			eval: evalTLS13NotSupported, want: result.StatusError,
		},
		{
			name: "a missing certificate makes certificate_untrusted an error",
			mod:  func(r *tlsscan.Report) { r.Certificate.Error = "tls handshake for the certificate: EOF" },
			eval: evalCertificateUntrusted, want: result.StatusError,
		},
		{
			name: "an endpoint that completed no handshake at all is an error, not a pass",
			mod: func(r *tlsscan.Report) {
				for i := range r.Protocols {
					r.Protocols[i].Supported, r.Protocols[i].Suites = false, nil
				}
			},
			eval: evalNoForwardSecrecy, want: result.StatusError,
		},
		{
			name: "a 1024-bit DHE suite fails weak_dh_group and names the pair",
			mod: func(r *tlsscan.Report) {
				s, _ := tlsscan.SuiteByID(0x009E)
				p := r.Protocol(tlsscan.VersionTLS12)
				p.Suites = append(p.Suites, tlsscan.AcceptedSuite{Version: tlsscan.VersionTLS12, Suite: s, DHBits: 1024})
			},
			eval: evalWeakDHGroup, want: result.StatusFail,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.eval(synthetic(tt.mod), nil)
			if v.Status != tt.want {
				t.Fatalf("status %s (%s), want %s", v.Status, v.Reason, tt.want)
			}
			if tt.want == result.StatusFail && (len(v.Evidence) == 0 || v.Evidence[0].TLS == nil || len(v.Evidence[0].TLS.Accepted) != 1 || v.Evidence[0].TLS.Accepted[0] != "TLSv1.2 DHE-RSA-AES128-GCM-SHA256") {
				t.Errorf("evidence does not name exactly the failing pair: %+v", v.Evidence)
			}
		})
	}
}

// handshakeServer serves TLS with leaf on a loopback port (handshakes only)
// and returns its address.
func handshakeServer(t *testing.T, leaf *pki.Leaf) string {
	t.Helper()
	cert, err := leaf.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return serveHandshakes(t, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
}

// serveHandshakes completes TLS handshakes with cfg on a loopback port
// until the test ends, and returns the address.
func serveHandshakes(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_ = c.(*tls.Conn).Handshake()
			}()
		}
	}()
	return ln.Addr().String()
}

func TestTransportTLSVerifiesEachEndpointWithItsOwnCA(t *testing.T) {
	now := time.Now()
	dir := t.TempDir()
	newCA := func(name string) (*pki.CA, string) {
		t.Helper()
		ca, err := pki.NewCA(name, now, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, name+".pem")
		if err := os.WriteFile(file, ca.CertPEM, 0o644); err != nil {
			t.Fatal(err)
		}
		return ca, file
	}
	serve := func(ca *pki.CA) string {
		t.Helper()
		leaf, err := ca.Issue([]string{"127.0.0.1"}, now, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return handshakeServer(t, leaf)
	}
	ingestCA, ingestCAFile := newCA("ingest-ca")
	mqttCA, mqttCAFile := newCA("mqtt-ca")
	httpsByIngestCA, httpsByMQTTCA := serve(ingestCA), serve(mqttCA)
	brokerByMQTTCA, brokerByIngestCA := serve(mqttCA), serve(ingestCA)

	tests := []struct {
		name        string
		target      Target
		wantTrusted map[string]bool // endpoint address → certificate trusted
		wantCA      map[string]string
		want        result.Status
	}{
		{
			name: "an mqtts broker signed by the MQTT CA only verifies against mqtt.ca_file, the https ingest against ingest.ca_file",
			target: Target{
				Ingest: Ingest{URLs: []string{"https://" + httpsByIngestCA + "/v1/ingest"}, CAFile: ingestCAFile},
				MQTT:   MQTTSpec{URLs: []string{"mqtts://" + brokerByMQTTCA}, CAFile: mqttCAFile},
			},
			wantTrusted: map[string]bool{httpsByIngestCA: true, brokerByMQTTCA: true},
			wantCA:      map[string]string{httpsByIngestCA: ingestCAFile, brokerByMQTTCA: mqttCAFile},
			want:        result.StatusPass,
		},
		{
			name: "an mqtts broker named in tls.addresses too is still verified against mqtt.ca_file",
			target: Target{
				Ingest: Ingest{CAFile: ingestCAFile},
				TLS:    TLSSpec{Addresses: []string{brokerByMQTTCA}},
				MQTT:   MQTTSpec{URLs: []string{"mqtts://" + brokerByMQTTCA}, CAFile: mqttCAFile},
			},
			wantTrusted: map[string]bool{brokerByMQTTCA: true},
			wantCA:      map[string]string{brokerByMQTTCA: mqttCAFile},
			want:        result.StatusPass,
		},
		{
			name: "without mqtt.ca_file an mqtts broker is verified against ingest.ca_file",
			target: Target{
				Ingest: Ingest{URLs: []string{"https://" + httpsByIngestCA + "/v1/ingest"}, CAFile: ingestCAFile},
				MQTT:   MQTTSpec{URLs: []string{"mqtts://" + brokerByIngestCA}},
			},
			wantTrusted: map[string]bool{httpsByIngestCA: true, brokerByIngestCA: true},
			wantCA:      map[string]string{httpsByIngestCA: ingestCAFile, brokerByIngestCA: ingestCAFile},
			want:        result.StatusPass,
		},
		{
			name: "an https ingest endpoint signed by the MQTT CA is not trusted through mqtt.ca_file",
			target: Target{
				Ingest: Ingest{URLs: []string{"https://" + httpsByMQTTCA + "/v1/ingest"}, CAFile: ingestCAFile},
				MQTT:   MQTTSpec{URLs: []string{"mqtts://" + brokerByMQTTCA}, CAFile: mqttCAFile},
			},
			wantTrusted: map[string]bool{httpsByMQTTCA: false, brokerByMQTTCA: true},
			wantCA:      map[string]string{httpsByMQTTCA: ingestCAFile, brokerByMQTTCA: mqttCAFile},
			want:        result.StatusFail,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tgt := tt.target
			tgt.Timeouts.Request = Duration(3 * time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			obs := &Observations{Target: &tgt, TLS: collectTLS(ctx, &tgt)}
			if len(obs.TLS) != len(tt.wantTrusted) {
				t.Fatalf("%d endpoints scanned, want %d", len(obs.TLS), len(tt.wantTrusted))
			}
			for _, ep := range obs.TLS {
				if ep.Report == nil {
					t.Fatalf("%s: scan failed: %v", ep.Address, ep.Err)
				}
				if ep.CAFile != tt.wantCA[ep.Address] {
					t.Errorf("%s verified with %q, want %q", ep.Address, ep.CAFile, tt.wantCA[ep.Address])
				}
				if got := ep.Report.Certificate.Trusted; got != tt.wantTrusted[ep.Address] {
					t.Errorf("%s trusted = %v (%s), want %v", ep.Address, got, ep.Report.Certificate.VerifyError, tt.wantTrusted[ep.Address])
				}
			}
			v := evalCertificateUntrusted(obs, nil)
			if v.Status != tt.want {
				t.Fatalf("certificate_untrusted = %s (%s), want %s", v.Status, v.Reason, tt.want)
			}
			for addr, trusted := range tt.wantTrusted {
				if trusted && !strings.Contains(v.Reason, addr+": the chain verifies") && v.Status == result.StatusPass {
					t.Errorf("reason does not say %s verifies: %s", addr, v.Reason)
				}
				if !trusted && !strings.Contains(v.Reason, addr+": the chain does not verify") {
					t.Errorf("reason does not say %s fails: %s", addr, v.Reason)
				}
			}
		})
	}
}

func TestWeakDHGroupJudgesEveryCurveAndOfferedGroup(t *testing.T) {
	grp := func(name string) tlsscan.Group { g, _ := tlsscan.GroupByName(name); return g }
	tests := []struct {
		name string
		mod  func(r *tlsscan.Report)
		want result.Status
	}{
		{"x25519 and P-256 pass", func(r *tlsscan.Report) {
			r.Groups = []tlsscan.GroupResult{{Version: tlsscan.VersionTLS12, Groups: []tlsscan.Group{grp("x25519"), grp("secp256r1")}}}
		}, result.StatusPass},
		{"a suite negotiated on a 163-bit binary curve fails", func(r *tlsscan.Report) {
			r.Protocol(tlsscan.VersionTLS12).Suites[0].Curve = "sect163k1"
		}, result.StatusFail},
		{"a weak curve the server accepts but did not pick still fails", func(r *tlsscan.Report) {
			r.Groups = []tlsscan.GroupResult{{Version: tlsscan.VersionTLS12, Groups: []tlsscan.Group{grp("x25519"), grp("secp192r1")}}}
		}, result.StatusFail},
		{"ffdhe2048 offered in TLS 1.3 passes", func(r *tlsscan.Report) {
			r.Groups = []tlsscan.GroupResult{{Version: tlsscan.VersionTLS13, Groups: []tlsscan.Group{grp("x25519"), grp("ffdhe2048")}}}
		}, result.StatusPass},
		{"groups the scan could not read make it an error", func(r *tlsscan.Report) {
			r.Groups = []tlsscan.GroupResult{{Version: tlsscan.VersionTLS12, Error: "read ServerHello: timeout"}}
		}, result.StatusError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := evalWeakDHGroup(synthetic(tt.mod), nil)
			if v.Status != tt.want {
				t.Fatalf("status %s (%s), want %s", v.Status, v.Reason, tt.want)
			}
		})
	}
}
