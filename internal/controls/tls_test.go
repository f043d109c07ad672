package controls

import (
	"crypto/x509"
	"slices"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/collect"
	"github.com/hardgate/hardgate/internal/probe/tlsscan"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

// synthetic builds an observation from a hand-made scan report.
func synthetic(mod func(r *tlsscan.Report)) *collect.Observations {
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
	return &collect.Observations{Target: &spec.Target{}, TLS: []collect.TLSObservation{{Address: r.Address, ServerName: r.ServerName, Report: r}}}
}

func TestTransportTLSControlsNeverPassWhatTheScanCouldNotDecide(t *testing.T) {
	tests := []struct {
		name string
		mod  func(r *tlsscan.Report)
		id   string
		want result.Status
	}{
		{
			name: "a legacy version the server did not answer makes legacy_protocol_enabled an error",
			mod:  func(r *tlsscan.Report) { r.Protocol(tlsscan.VersionTLS10).Error = "TLSv1.0: read ServerHello: timeout" },
			id:   "transport_tls.legacy_protocol_enabled", want: result.StatusError,
		},
		{
			name: "an undecided TLS 1.2 makes weak_cipher_suites an error",
			mod:  func(r *tlsscan.Report) { r.Protocol(tlsscan.VersionTLS12).Error = "TLSv1.2: connection closed" },
			id:   "transport_tls.weak_cipher_suites", want: result.StatusError,
		},
		{
			name: "a DHE suite whose parameters were not read makes weak_dh_group an error",
			mod: func(r *tlsscan.Report) {
				s, _ := tlsscan.SuiteByID(0x009E)
				p := r.Protocol(tlsscan.VersionTLS12)
				p.Suites = append(p.Suites, tlsscan.AcceptedSuite{Version: tlsscan.VersionTLS12, Suite: s, Error: "no ServerKeyExchange"})
			},
			id: "transport_tls.weak_dh_group", want: result.StatusError,
		},
		{
			name: "an undecided TLS 1.3 makes tls13_not_supported an error",
			mod: func(r *tlsscan.Report) {
				p := r.Protocol(tlsscan.VersionTLS13)
				p.Supported, p.Suites, p.Error = false, nil, "TLSv1.3: garbage"
			},
			id: "transport_tls.tls13_not_supported", want: result.StatusError,
		},
		{
			name: "a missing certificate makes certificate_untrusted an error",
			mod:  func(r *tlsscan.Report) { r.Certificate.Error = "tls handshake for the certificate: EOF" },
			id:   "transport_tls.certificate_untrusted", want: result.StatusError,
		},
		{
			name: "an endpoint that completed no handshake at all is an error, not a pass",
			mod: func(r *tlsscan.Report) {
				for i := range r.Protocols {
					r.Protocols[i].Supported, r.Protocols[i].Suites = false, nil
				}
			},
			id: "transport_tls.no_forward_secrecy", want: result.StatusError,
		},
		{
			name: "a 1024-bit DHE suite fails weak_dh_group and names the pair",
			mod: func(r *tlsscan.Report) {
				s, _ := tlsscan.SuiteByID(0x009E)
				p := r.Protocol(tlsscan.VersionTLS12)
				p.Suites = append(p.Suites, tlsscan.AcceptedSuite{Version: tlsscan.VersionTLS12, Suite: s, DHBits: 1024})
			},
			id: "transport_tls.weak_dh_group", want: result.StatusFail,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := judge(t, tt.id, synthetic(tt.mod))
			if v.Status != tt.want {
				t.Fatalf("status %s (%s), want %s", v.Status, v.Reason, tt.want)
			}
			if tt.want == result.StatusFail && (len(v.Evidence) == 0 || v.Evidence[0].TLS == nil || len(v.Evidence[0].TLS.Accepted) != 1 || v.Evidence[0].TLS.Accepted[0] != "TLSv1.2 DHE-RSA-AES128-GCM-SHA256") {
				t.Errorf("evidence does not name exactly the failing pair: %+v", v.Evidence)
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
			v := judge(t, "transport_tls.weak_dh_group", synthetic(tt.mod))
			if v.Status != tt.want {
				t.Fatalf("status %s (%s), want %s", v.Status, v.Reason, tt.want)
			}
		})
	}
}

func TestWeakSuitePropertiesFollowTheCatalogVocabulary(t *testing.T) {
	t.Parallel()
	weak := mustGet(t, testCatalog(t), "transport_tls.weak_cipher_suites").List(paramWeakProperties)
	tests := []struct {
		id   uint16
		name string
		weak []string
	}{
		{0xC02F, "ECDHE-RSA-AES128-GCM-SHA256", nil},
		{0x0001, "NULL-MD5", []string{"NULL", "MD5"}},
		{0x0034, "ADH-AES128-SHA", []string{"anonymous"}},
		{0x0003, "EXP-RC4-MD5", []string{"export", "RC4", "MD5"}},
		{0x000A, "DES-CBC3-SHA", []string{"3DES"}},
		{0x0009, "DES-CBC-SHA", []string{"DES"}},
		{0x0005, "RC4-SHA", []string{"RC4"}},
		{0x009C, "AES128-GCM-SHA256", nil},
		{0x1301, "TLS_AES_128_GCM_SHA256", nil},
		{0x0096, "SEED-SHA", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is weak for exactly its listed properties", func(t *testing.T) {
			s, ok := tlsscan.SuiteByID(tt.id)
			if !ok || s.Name() != tt.name {
				t.Fatalf("SuiteByID(0x%04X) = %v, %v", tt.id, s, ok)
			}
			if got := weaknesses(s, weak); !slices.Equal(got, tt.weak) {
				t.Errorf("weaknesses %v, want %v", got, tt.weak)
			}
		})
	}
	if got := weaknesses(mustSuite(t, 0x000A), []string{"RC4"}); got != nil {
		t.Errorf("3DES is weak only while the catalog lists it; got %v", got)
	}
}

func mustSuite(t *testing.T, id uint16) tlsscan.Suite {
	t.Helper()
	s, ok := tlsscan.SuiteByID(id)
	if !ok {
		t.Fatalf("suite 0x%04X unknown", id)
	}
	return s
}

func TestAnExpiredCertificateIsLeftToCertificateExpired(t *testing.T) {
	cert := func(expired bool, daysLeft int) func(r *tlsscan.Report) {
		return func(r *tlsscan.Report) {
			r.Certificate.Chain = []*x509.Certificate{{NotAfter: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
			r.Certificate.Expired, r.Certificate.DaysLeft = expired, daysLeft
		}
	}
	twoEndpoints := func(a, b func(r *tlsscan.Report)) *collect.Observations {
		o := synthetic(a)
		other := synthetic(b)
		other.TLS[0].Address = "127.0.0.1:8883"
		o.TLS = append(o.TLS, other.TLS[0])
		return o
	}
	tests := []struct {
		name                  string
		obs                   *collect.Observations
		wantExpired, wantSoon result.Status
	}{
		{"an expired certificate is one finding", synthetic(cert(true, -3)), result.StatusFail, result.StatusNotApplicable},
		{"a certificate within the window fails expiring_soon only", synthetic(cert(false, 3)), result.StatusPass, result.StatusFail},
		{"an expired and a healthy endpoint: expiring_soon judges the healthy one", twoEndpoints(cert(true, -3), cert(false, 300)), result.StatusFail, result.StatusPass},
		{"an expired and an expiring endpoint: each fails its own control", twoEndpoints(cert(true, -3), cert(false, 3)), result.StatusFail, result.StatusFail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if v := judge(t, "transport_tls.certificate_expired", tc.obs); v.Status != tc.wantExpired {
				t.Errorf("certificate_expired = %s (%s), want %s", v.Status, v.Reason, tc.wantExpired)
			}
			if v := judge(t, "transport_tls.certificate_expiring_soon", tc.obs); v.Status != tc.wantSoon {
				t.Errorf("certificate_expiring_soon = %s (%s), want %s", v.Status, v.Reason, tc.wantSoon)
			}
		})
	}
}
