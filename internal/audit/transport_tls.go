package audit

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/probe/tlsscan"
	"github.com/hardgate/hardgate/internal/result"
)

// TLSSpec names extra TLS endpoints and tunes the transport_tls assessment.
// The https ingest URLs are always assessed.
type TLSSpec struct {
	// Addresses are extra TLS endpoints as host:port (e.g. an MQTT over TLS
	// listener, 127.0.0.1:8883).
	Addresses []string `yaml:"addresses" json:"addresses,omitempty"`
	// ExpiryWarningDays is how many days before expiry a certificate is
	// reported as expiring soon (default 30).
	ExpiryWarningDays int `yaml:"expiry_warning_days" json:"expiry_warning_days,omitempty"`
}

// DefaultExpiryWarningDays is the default "expiring soon" window.
const DefaultExpiryWarningDays = 30

func (s *TLSSpec) validate(add func(field, value, msg string)) {
	for i, a := range s.Addresses {
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" || port == "" {
			add(fmt.Sprintf("tls.addresses[%d]", i), a, "must be host:port")
		}
	}
	if s.ExpiryWarningDays < 0 {
		add("tls.expiry_warning_days", fmt.Sprint(s.ExpiryWarningDays), "must not be negative")
	}
}

// TLSObservation is the full TLS scan of one endpoint.
type TLSObservation struct {
	// Address is host:port; ServerName the host checked against the certificate.
	Address    string
	ServerName string
	// CAFile is the trust anchor the certificate was verified with (empty:
	// the system roots): mqtt.ca_file for an mqtts broker, ingest.ca_file
	// for the rest.
	CAFile string
	// Report is nil when the scan could not run at all (Err says why).
	Report *tlsscan.Report
	Err    error
}

// tlsEndpoints lists the https ingest URLs' host:port, tls.addresses and
// the mqtts brokers' host:port, without duplicates, in spec order, each
// with the CA file that verifies it: ingest.ca_file for https URLs;
// mqtt.ca_file (falling back to ingest.ca_file) for mqtts brokers, also
// when a tls.addresses entry names the same endpoint; for the other
// tls.addresses ingest.ca_file, or mqtt.ca_file when only that is given.
func tlsEndpoints(t *Target) []TLSObservation {
	var out []TLSObservation
	index := map[string]int{}
	add := func(addr, name, caFile string) int {
		if i, ok := index[addr]; ok {
			return i
		}
		index[addr] = len(out)
		out = append(out, TLSObservation{Address: addr, ServerName: name, CAFile: caFile})
		return len(out) - 1
	}
	fromIngest := map[string]bool{}
	for _, raw := range t.Ingest.URLs {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "https" {
			continue
		}
		port := u.Port()
		if port == "" {
			port = "443"
		}
		addr := net.JoinHostPort(u.Hostname(), port)
		add(addr, u.Hostname(), t.Ingest.CAFile)
		fromIngest[addr] = true
	}
	other := t.Ingest.CAFile
	if other == "" {
		other = t.MQTT.CAFile // an MQTT-only target names its trust anchor there
	}
	for _, a := range t.TLS.Addresses {
		host, _, _ := net.SplitHostPort(a)
		add(a, host, other)
	}
	mqttCA := t.MQTT.CAFile
	if mqttCA == "" {
		mqttCA = t.Ingest.CAFile
	}
	for _, raw := range t.MQTT.URLs {
		u, err := url.Parse(raw)
		if err != nil || !isMQTTS(u.Scheme) {
			continue
		}
		port := u.Port()
		if port == "" {
			port = "8883"
		}
		addr := net.JoinHostPort(u.Hostname(), port)
		if i := add(addr, u.Hostname(), mqttCA); !fromIngest[addr] {
			out[i].CAFile = mqttCA // the broker's own trust anchor wins over a tls.addresses guess
		}
	}
	return out
}

// loadRoots reads a PEM CA file into a pool; an empty name is the system roots (nil).
func loadRoots(caFile string) (*x509.CertPool, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca_file %s: no PEM certificate found", caFile)
	}
	return roots, nil
}

// collectTLS scans every TLS endpoint of the target concurrently.
func collectTLS(ctx context.Context, t *Target) []TLSObservation {
	eps := tlsEndpoints(t)
	if len(eps) == 0 {
		return nil
	}
	type pool struct {
		roots *x509.CertPool
		err   error
	}
	pools := map[string]pool{}
	days := t.TLS.ExpiryWarningDays
	if days == 0 {
		days = DefaultExpiryWarningDays
	}
	var wg sync.WaitGroup
	for i := range eps {
		ep := &eps[i]
		p, ok := pools[ep.CAFile]
		if !ok {
			p.roots, p.err = loadRoots(ep.CAFile)
			pools[ep.CAFile] = p
		}
		if p.err != nil {
			ep.Err = p.err
			continue
		}
		wg.Go(func() {
			cfg := tlsscan.DefaultConfig(ep.Address)
			cfg.ServerName = ep.ServerName
			cfg.Roots = p.roots
			cfg.ExpiryWarning = time.Duration(days) * 24 * time.Hour
			cfg.HandshakeTimeout = time.Duration(t.Timeouts.Request)
			ep.Report, ep.Err = tlsscan.Scan(ctx, cfg)
		})
	}
	wg.Wait()
	return eps
}

const tlsNotApplicable = "the target names no TLS endpoint (no https ingest URL, no tls.addresses)"

// tlsEvidence wraps a scan as evidence listing the given pairs.
func tlsEvidence(ep *TLSObservation, summary string, accepted []string, detail string) result.Evidence {
	var ev result.TLSEvidence
	if ep.Report != nil {
		ev = ep.Report.Evidence(accepted, detail)
	} else {
		ev = result.TLSEvidence{Address: ep.Address, Detail: detail}
	}
	if accepted != nil {
		ev.Accepted = accepted
	}
	return result.Evidence{Kind: "tls", Summary: summary, TLS: &ev}
}

// suiteControl judges a control over accepted (version, suite) pairs: bad
// selects the failing pairs; relevant says which versions must have been
// enumerated completely for a pass.
func suiteControl(o *Observations, bad func(tlsscan.AcceptedSuite) (string, bool), relevant func(tlsscan.Version) bool, what string) Verdict {
	var t tally
	for i := range o.TLS {
		ep := &o.TLS[i]
		if ep.Report == nil {
			t.undecide(fmt.Sprintf("%s: scan failed: %v", ep.Address, ep.Err), tlsEvidence(ep, "scan failed", nil, errText0(ep.Err)))
			continue
		}
		var pairs, reasons []string
		for _, a := range ep.Report.Accepted() {
			if why, isBad := bad(a); isBad {
				pairs = append(pairs, a.String())
				if why != "" {
					reasons = append(reasons, a.String()+" ("+why+")")
				}
			}
		}
		var unfinished []string
		for _, p := range ep.Report.Protocols {
			if p.Error != "" && relevant(p.Version) {
				unfinished = append(unfinished, p.Error)
			}
		}
		all := ep.Report.AcceptedWhere(nil)
		switch {
		case len(pairs) > 0:
			detail := strings.Join(reasons, "; ")
			t.fail(fmt.Sprintf("%s accepts %d %s: %s", ep.Address, len(pairs), what, brief(pairs)),
				tlsEvidence(ep, fmt.Sprintf("%d of %d accepted pairs are %s", len(pairs), len(all), what), pairs, detail))
		case len(unfinished) > 0:
			t.undecide(fmt.Sprintf("%s: %s", ep.Address, strings.Join(unfinished, "; ")),
				tlsEvidence(ep, "enumeration incomplete", all, strings.Join(unfinished, "; ")))
		case len(all) == 0:
			t.undecide(ep.Address+" completed no handshake at any version, so nothing could be judged",
				tlsEvidence(ep, "no handshake completed", []string{}, ""))
		default:
			t.pass(fmt.Sprintf("%s accepts no %s (%d pairs checked)", ep.Address, what, len(all)),
				tlsEvidence(ep, fmt.Sprintf("all %d accepted pairs", len(all)), all, ""))
		}
	}
	return t.verdict(tlsNotApplicable)
}

func errText0(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func anyVersion(tlsscan.Version) bool { return true }

func evalLegacyProtocol(o *Observations, _ *catalog.Control) Verdict {
	return suiteControl(o, func(a tlsscan.AcceptedSuite) (string, bool) {
		return "", a.Version.Legacy()
	}, tlsscan.Version.Legacy, "pairs at a legacy protocol version")
}

func evalWeakCipherSuites(o *Observations, _ *catalog.Control) Verdict {
	return suiteControl(o, func(a tlsscan.AcceptedSuite) (string, bool) {
		w := a.Suite.Weaknesses()
		return strings.Join(w, ", "), len(w) > 0
	}, anyVersion, "weak suites")
}

func evalNoForwardSecrecy(o *Observations, _ *catalog.Control) Verdict {
	return suiteControl(o, func(a tlsscan.AcceptedSuite) (string, bool) {
		return "key exchange " + a.Suite.Kx, !a.Suite.ForwardSecret()
	}, anyVersion, "suites without forward secrecy")
}

func evalWeakDHGroup(o *Observations, _ *catalog.Control) Verdict {
	var t tally
	for i := range o.TLS {
		ep := &o.TLS[i]
		if ep.Report == nil {
			t.undecide(fmt.Sprintf("%s: scan failed: %v", ep.Address, ep.Err), tlsEvidence(ep, "scan failed", nil, errText0(ep.Err)))
			continue
		}
		var weak, unread, kx []string
		for _, a := range ep.Report.Accepted() {
			switch {
			case a.Error != "":
				unread = append(unread, a.String()+": "+a.Error)
			case a.DHBits > 0:
				kx = append(kx, fmt.Sprintf("%s (DH %d bits)", a, a.DHBits))
				if a.DHBits < 2048 {
					weak = append(weak, fmt.Sprintf("%s (DH %d bits)", a, a.DHBits))
				}
			case a.Curve != "":
				if g, ok := tlsscan.GroupByName(a.Curve); ok && weakGroup(g) {
					weak = append(weak, fmt.Sprintf("%s (curve %s, %d bits)", a, a.Curve, g.Bits))
				}
			}
		}
		// Groups the server accepts but did not pick for a suite above
		// are weak all the same: a client that offers only them gets them.
		var weakOffered []string
		for _, gr := range ep.Report.Groups {
			if gr.Error != "" {
				unread = append(unread, fmt.Sprintf("%s groups: %s", gr.Version, gr.Error))
				continue
			}
			for _, g := range gr.Groups {
				if weakGroup(g) {
					weakOffered = append(weakOffered, fmt.Sprintf("%s accepts group %s (%d bits)", gr.Version, g.Name, g.Bits))
				}
			}
		}
		errs := ep.Report.ProtocolErrors()
		switch {
		case len(weak) > 0 || len(weakOffered) > 0:
			all := append(slices.Clone(weak), weakOffered...)
			t.fail(fmt.Sprintf("%s: weak key exchange groups: %s", ep.Address, brief(all)),
				tlsEvidence(ep, "weak key exchange groups", pairsOf(weak), strings.Join(all, "; ")))
		case len(unread) > 0 || len(errs) > 0:
			t.undecide(fmt.Sprintf("%s: %s", ep.Address, strings.Join(append(unread, errs...), "; ")),
				tlsEvidence(ep, "key exchange parameters not read", nil, strings.Join(append(unread, errs...), "; ")))
		case len(kx) == 0:
			t.pass(fmt.Sprintf("%s accepts no DHE suite; ECDHE curves are at least 224 bits", ep.Address), tlsEvidence(ep, "no DHE suite", nil, ""))
		default:
			t.pass(fmt.Sprintf("%s: every DHE group is at least 2048 bits", ep.Address), tlsEvidence(ep, "DHE groups", pairsOf(kx), strings.Join(kx, "; ")))
		}
	}
	return t.verdict(tlsNotApplicable)
}

// briefMax is how many items a reason names before "and N more"; the
// evidence always lists every one.
const briefMax = 4

func brief(items []string) string {
	if len(items) <= briefMax {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more (every pair is in the evidence)", strings.Join(items[:briefMax], ", "), len(items)-briefMax)
}

// pairsOf strips the "(...)" annotations to leave "TLSv1.2 SUITE" pairs.
func pairsOf(annotated []string) []string {
	out := make([]string, 0, len(annotated))
	for _, s := range annotated {
		pair, _, _ := strings.Cut(s, " (")
		out = append(out, pair)
	}
	return slices.Compact(out)
}

// weakGroup reports whether a key exchange group is below the bar: a
// finite-field group under 2048 bits, or an elliptic curve under 224 bits.
func weakGroup(g tlsscan.Group) bool {
	if strings.HasPrefix(g.Name, "ffdhe") {
		return g.Bits < 2048
	}
	return g.Bits > 0 && g.Bits < 224
}

// certControl judges a certificate fact on every endpoint.
func certControl(o *Observations, judge func(ep *TLSObservation, c *tlsscan.CertReport) (fail bool, why string)) Verdict {
	var t tally
	for i := range o.TLS {
		ep := &o.TLS[i]
		switch {
		case ep.Report == nil:
			t.undecide(fmt.Sprintf("%s: scan failed: %v", ep.Address, ep.Err), tlsEvidence(ep, "scan failed", nil, errText0(ep.Err)))
			continue
		case ep.Report.Certificate.Error != "":
			t.undecide(fmt.Sprintf("%s: no certificate: %s", ep.Address, ep.Report.Certificate.Error),
				tlsEvidence(ep, "certificate not obtained", []string{}, ep.Report.Certificate.Error))
			continue
		}
		fail, why := judge(ep, &ep.Report.Certificate)
		stapling := "OCSP stapling: not offered"
		if ep.Report.Certificate.OCSPStapled {
			stapling = "OCSP stapling: offered"
		}
		ev := tlsEvidence(ep, "certificate: "+why, []string{}, why+"; "+stapling)
		if fail {
			t.fail(ep.Address+": "+why, ev)
		} else {
			t.pass(ep.Address+": "+why, ev)
		}
	}
	return t.verdict(tlsNotApplicable)
}

func evalCertificateUntrusted(o *Observations, _ *catalog.Control) Verdict {
	return certControl(o, func(ep *TLSObservation, c *tlsscan.CertReport) (bool, string) {
		if c.Trusted {
			return false, "the chain verifies to the " + map[string]string{"ca_file": "target's CA file", "system": "system roots"}[c.TrustAnchor]
		}
		why := "the chain does not verify: " + c.VerifyError
		if c.SelfSigned {
			why = "the certificate is self-signed and not a trust anchor: " + c.VerifyError
		}
		return true, why
	})
}

func evalCertificateExpired(o *Observations, _ *catalog.Control) Verdict {
	return certControl(o, func(ep *TLSObservation, c *tlsscan.CertReport) (bool, string) {
		leaf := c.Chain[0]
		switch {
		case c.Expired:
			return true, fmt.Sprintf("the certificate expired on %s", leaf.NotAfter.UTC().Format(time.RFC3339))
		case c.NotYetValid:
			return true, fmt.Sprintf("the certificate is not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339))
		}
		return false, fmt.Sprintf("valid from %s to %s", leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	})
}

func evalCertificateExpiringSoon(o *Observations, _ *catalog.Control) Verdict {
	days := DefaultExpiryWarningDays
	if o.Target != nil && o.Target.TLS.ExpiryWarningDays > 0 {
		days = o.Target.TLS.ExpiryWarningDays
	}
	return certControl(o, func(ep *TLSObservation, c *tlsscan.CertReport) (bool, string) {
		when := c.Chain[0].NotAfter.UTC().Format(time.RFC3339)
		switch {
		case c.Expired:
			return true, "the certificate has already expired (" + when + ")"
		case c.ExpiringSoon:
			return true, fmt.Sprintf("the certificate expires on %s, in %d days (warning window %d days)", when, c.DaysLeft, days)
		}
		return false, fmt.Sprintf("the certificate expires on %s, in %d days", when, c.DaysLeft)
	})
}

func evalHostnameMismatch(o *Observations, _ *catalog.Control) Verdict {
	return certControl(o, func(ep *TLSObservation, c *tlsscan.CertReport) (bool, string) {
		switch {
		case c.HostnameMatch:
			return false, fmt.Sprintf("%q is in the certificate's subjectAltName", ep.ServerName)
		case !c.HasSAN:
			return true, fmt.Sprintf("the certificate has no subjectAltName, so it cannot match %q (the CN %q is not used)", ep.ServerName, c.Chain[0].Subject.CommonName)
		}
		return true, fmt.Sprintf("%q does not match the certificate: %s", ep.ServerName, c.HostnameError)
	})
}

func evalWeakKey(o *Observations, _ *catalog.Control) Verdict {
	return certControl(o, func(ep *TLSObservation, c *tlsscan.CertReport) (bool, string) {
		key := fmt.Sprintf("%s %d bits", c.KeyType, c.KeyBits)
		switch c.KeyType {
		case "RSA", "DSA":
			if c.KeyBits < 2048 {
				return true, "the certificate key is " + key + " (at least 2048 required)"
			}
		case "ECDSA":
			if c.KeyBits < 256 {
				return true, "the certificate key is " + key + " (at least 256 required)"
			}
		case "Ed25519":
		default:
			return true, "the certificate key type " + key + " is not recognised as strong"
		}
		return false, "the certificate key is " + key
	})
}

func evalWeakSignature(o *Observations, _ *catalog.Control) Verdict {
	return certControl(o, func(ep *TLSObservation, c *tlsscan.CertReport) (bool, string) {
		var sigs []string
		for i, cert := range c.Chain {
			if i > 0 && string(cert.RawSubject) == string(cert.RawIssuer) {
				continue
			}
			sigs = append(sigs, cert.SignatureAlgorithm.String())
		}
		if c.WeakSignature {
			return true, "the chain is signed with " + strings.Join(sigs, ", ") + " (MD5 or SHA-1)"
		}
		return false, "the chain is signed with " + strings.Join(sigs, ", ")
	})
}

func evalTLS13NotSupported(o *Observations, _ *catalog.Control) Verdict {
	var t tally
	for i := range o.TLS {
		ep := &o.TLS[i]
		if ep.Report == nil {
			t.undecide(fmt.Sprintf("%s: scan failed: %v", ep.Address, ep.Err), tlsEvidence(ep, "scan failed", nil, errText0(ep.Err)))
			continue
		}
		p := ep.Report.Protocol(tlsscan.VersionTLS13)
		pairs := ep.Report.AcceptedWhere(func(a tlsscan.AcceptedSuite) bool { return a.Version == tlsscan.VersionTLS13 })
		switch {
		case p != nil && p.Supported:
			t.pass(fmt.Sprintf("%s accepts TLS 1.3 (%d suites)", ep.Address, len(pairs)), tlsEvidence(ep, "TLS 1.3 suites", pairs, ""))
		case p == nil || p.Error != "":
			why := "TLS 1.3 was not probed"
			if p != nil {
				why = p.Error
			}
			t.undecide(ep.Address+": "+why, tlsEvidence(ep, "TLS 1.3 undecided", []string{}, why))
		default:
			t.fail(ep.Address+" refuses every TLS 1.3 handshake", tlsEvidence(ep, "no TLS 1.3 suite accepted", []string{}, "accepted pairs: "+strings.Join(ep.Report.AcceptedWhere(nil), ", ")))
		}
	}
	return t.verdict(tlsNotApplicable)
}
