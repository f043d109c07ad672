package tlsscan

import (
	"crypto/x509"
	"fmt"
	"slices"
	"strings"

	"github.com/hardgate/hardgate/internal/result"
)

// Accepted returns every accepted (version, suite) pair, oldest version
// first, each version in the server's order.
func (r *Report) Accepted() []AcceptedSuite {
	var out []AcceptedSuite
	for _, p := range r.Protocols {
		out = append(out, p.Suites...)
	}
	return out
}

// AcceptedWhere returns the evidence strings ("TLSv1.0 RC4-SHA") of the
// accepted pairs matching keep.
func (r *Report) AcceptedWhere(keep func(AcceptedSuite) bool) []string {
	var out []string
	for _, a := range r.Accepted() {
		if keep == nil || keep(a) {
			out = append(out, a.String())
		}
	}
	return out
}

// Protocol returns the result for v, or nil when v was not probed.
func (r *Report) Protocol(v Version) *ProtocolResult {
	for i := range r.Protocols {
		if r.Protocols[i].Version == v {
			return &r.Protocols[i]
		}
	}
	return nil
}

// ProtocolErrors lists the versions whose enumeration did not finish.
func (r *Report) ProtocolErrors() []string {
	var out []string
	for _, p := range r.Protocols {
		if p.Error != "" {
			out = append(out, p.Error)
		}
	}
	return out
}

// Complete returns ErrIncomplete (wrapped, with the reasons) when any
// protocol enumeration or the certificate fetch did not decide.
func (r *Report) Complete() error {
	errs := r.ProtocolErrors()
	if r.Certificate.Error != "" {
		errs = append(errs, "certificate: "+r.Certificate.Error)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrIncomplete, strings.Join(errs, "; "))
	}
	return nil
}

// MinDHBits is the smallest DHE prime accepted (0 when no DHE suite).
func (r *Report) MinDHBits() int {
	minBits := 0
	for _, a := range r.Accepted() {
		if a.DHBits > 0 && (minBits == 0 || a.DHBits < minBits) {
			minBits = a.DHBits
		}
	}
	return minBits
}

// Highest returns the highest supported version and its preferred suite.
func (r *Report) Highest() (AcceptedSuite, bool) {
	for i := len(r.Protocols) - 1; i >= 0; i-- {
		if p := r.Protocols[i]; p.Supported {
			return p.Suites[0], true
		}
	}
	return AcceptedSuite{}, false
}

// Evidence converts the report to the result model, listing every
// accepted pair (or only accepted, when given) and the chain.
func (r *Report) Evidence(accepted []string, detail string) result.TLSEvidence {
	ev := result.TLSEvidence{Address: r.Address, Accepted: accepted, Detail: detail}
	if accepted == nil {
		ev.Accepted = r.AcceptedWhere(nil)
	}
	if h, ok := r.Highest(); ok {
		ev.Version = h.Version.String()
		ev.CipherSuite = h.Suite.Name()
	}
	for _, p := range r.Protocols {
		if p.Supported && p.Preference != "" {
			ev.ServerOrder = append(ev.ServerOrder, p.Version.String()+": "+p.Preference)
		}
	}
	for _, g := range r.Groups {
		if len(g.Groups) == 0 {
			continue
		}
		names := make([]string, 0, len(g.Groups))
		for _, x := range g.Groups {
			names = append(names, fmt.Sprintf("%s (%d)", x.Name, x.Bits))
		}
		ev.Groups = append(ev.Groups, g.Version.String()+": "+strings.Join(names, ", "))
	}
	ev.Certificates = CertInfos(r.Certificate.Chain)
	ev.VerifyError = r.Certificate.VerifyError
	if ev.VerifyError == "" && r.Certificate.Error != "" {
		ev.VerifyError = r.Certificate.Error
	}
	return ev
}

// CertInfos summarises a chain for the result model.
func CertInfos(chain []*x509.Certificate) []result.CertInfo {
	out := make([]result.CertInfo, 0, len(chain))
	for _, c := range chain {
		out = append(out, CertInfo(c))
	}
	return out
}

// CertInfo summarises one certificate.
func CertInfo(c *x509.Certificate) result.CertInfo {
	kt, bits := KeyInfo(c)
	ips := make([]string, 0, len(c.IPAddresses))
	for _, ip := range c.IPAddresses {
		ips = append(ips, ip.String())
	}
	return result.CertInfo{
		Subject:            c.Subject.String(),
		Issuer:             c.Issuer.String(),
		NotBefore:          c.NotBefore.UTC(),
		NotAfter:           c.NotAfter.UTC(),
		DNSNames:           slices.Clone(c.DNSNames),
		IPAddresses:        ips,
		KeyType:            kt,
		KeyBits:            bits,
		SignatureAlgorithm: c.SignatureAlgorithm.String(),
		SHA256:             CertSHA256(c),
	}
}

// Summary is a one-line human description of the scan.
func (r *Report) Summary() string {
	var vs []string
	for _, p := range r.Protocols {
		if p.Supported {
			vs = append(vs, fmt.Sprintf("%v (%d suites)", p.Version, len(p.Suites)))
		}
	}
	out := r.Address + ": " + strings.Join(vs, ", ")
	if len(vs) == 0 {
		out = r.Address + ": no protocol version accepted"
	}
	if errs := r.ProtocolErrors(); len(errs) > 0 {
		out += fmt.Sprintf(" (incomplete: %d versions undecided)", len(errs))
	}
	return out
}
