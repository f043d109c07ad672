package controls

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/collect"
	"github.com/hardgate/hardgate/internal/probe/tlsscan"
	"github.com/hardgate/hardgate/internal/scoring"
)

// certOutcome is a certificate judgment on one endpoint.
type certOutcome int

const (
	certPass certOutcome = iota
	certFail
	// certElsewhere: the fact is judged by another control, so this one
	// records nothing for the endpoint (one defect, one finding).
	certElsewhere
)

// certControl judges a certificate fact on every endpoint. With every
// endpoint judged elsewhere, the control is not applicable for the reason
// elsewhere gives.
func certControl(o *collect.Observations, judge func(ep *collect.TLSObservation, c *tlsscan.CertReport) (certOutcome, string)) scoring.Verdict {
	var t scoring.Tally
	var elsewhere []string
	for i := range o.TLS {
		ep := &o.TLS[i]
		switch {
		case ep.Report == nil:
			scanFailed(&t, ep)
			continue
		case ep.Report.Certificate.Error != "":
			t.Undecide(fmt.Sprintf("%s: no certificate: %s", ep.Address, ep.Report.Certificate.Error),
				tlsEvidence(ep, "certificate not obtained", []string{}, ep.Report.Certificate.Error))
			continue
		}
		outcome, why := judge(ep, &ep.Report.Certificate)
		stapling := "OCSP stapling: not offered"
		if ep.Report.Certificate.OCSPStapled {
			stapling = "OCSP stapling: offered"
		}
		ev := tlsEvidence(ep, "certificate: "+why, []string{}, why+"; "+stapling)
		switch outcome {
		case certFail:
			t.Fail(ep.Address+": "+why, ev)
		case certPass:
			t.Pass(ep.Address+": "+why, ev)
		case certElsewhere:
			elsewhere = append(elsewhere, ep.Address+": "+why)
		}
	}
	if len(elsewhere) > 0 {
		return t.Verdict(strings.Join(elsewhere, "; "))
	}
	return t.Verdict(tlsNotApplicable)
}

// yesNo turns a fail-or-pass judgment into a certControl judge.
func yesNo(judge func(ep *collect.TLSObservation, c *tlsscan.CertReport) (fail bool, why string)) func(*collect.TLSObservation, *tlsscan.CertReport) (certOutcome, string) {
	return func(ep *collect.TLSObservation, c *tlsscan.CertReport) (certOutcome, string) {
		fail, why := judge(ep, c)
		if fail {
			return certFail, why
		}
		return certPass, why
	}
}

func evalCertificateUntrusted(o *collect.Observations, _ *catalog.Control) scoring.Verdict {
	return certControl(o, yesNo(func(ep *collect.TLSObservation, c *tlsscan.CertReport) (bool, string) {
		if c.Trusted {
			return false, "the chain verifies to the " + map[string]string{"ca_file": "target's CA file", "system": "system roots"}[c.TrustAnchor]
		}
		why := "the chain does not verify: " + c.VerifyError
		if c.SelfSigned {
			why = "the certificate is self-signed and not a trust anchor: " + c.VerifyError
		}
		return true, why
	}))
}

func evalCertificateExpired(o *collect.Observations, _ *catalog.Control) scoring.Verdict {
	return certControl(o, yesNo(func(ep *collect.TLSObservation, c *tlsscan.CertReport) (bool, string) {
		leaf := c.Chain[0]
		switch {
		case c.Expired:
			return true, fmt.Sprintf("the certificate expired on %s", leaf.NotAfter.UTC().Format(time.RFC3339))
		case c.NotYetValid:
			return true, fmt.Sprintf("the certificate is not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339))
		}
		return false, fmt.Sprintf("valid from %s to %s", leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}))
}

// warningDays is the expiry window: the target's tls.expiry_warning_days,
// else the catalog's warning_days.
func warningDays(o *collect.Observations, c *catalog.Control) int {
	if o.Target != nil && o.Target.TLS.ExpiryWarningDays > 0 {
		return o.Target.TLS.ExpiryWarningDays
	}
	return c.Int(paramWarningDays)
}

func evalCertificateExpiringSoon(o *collect.Observations, ctl *catalog.Control) scoring.Verdict {
	days := warningDays(o, ctl)
	return certControl(o, func(ep *collect.TLSObservation, c *tlsscan.CertReport) (certOutcome, string) {
		when := c.Chain[0].NotAfter.UTC().Format(time.RFC3339)
		switch {
		case c.Expired:
			// One expired certificate is one finding: certificate_expired's.
			return certElsewhere, "the certificate has already expired (" + when + "); transport_tls.certificate_expired judges it"
		case c.DaysLeft < days:
			// DaysLeft is whole days, rounded down, so "under days whole
			// days" is "expires within the window".
			return certFail, fmt.Sprintf("the certificate expires on %s, in %d days (warning window %d days)", when, c.DaysLeft, days)
		}
		return certPass, fmt.Sprintf("the certificate expires on %s, in %d days", when, c.DaysLeft)
	})
}

func evalHostnameMismatch(o *collect.Observations, _ *catalog.Control) scoring.Verdict {
	return certControl(o, yesNo(func(ep *collect.TLSObservation, c *tlsscan.CertReport) (bool, string) {
		switch {
		case c.HostnameMatch:
			return false, fmt.Sprintf("%q is in the certificate's subjectAltName", ep.ServerName)
		case !c.HasSAN:
			return true, fmt.Sprintf("the certificate has no subjectAltName, so it cannot match %q (the CN %q is not used)", ep.ServerName, c.Chain[0].Subject.CommonName)
		}
		return true, fmt.Sprintf("%q does not match the certificate: %s", ep.ServerName, c.HostnameError)
	}))
}

func evalWeakKey(o *collect.Observations, ctl *catalog.Control) scoring.Verdict {
	minRSA, minECDSA := ctl.Int(paramMinRSABits), ctl.Int(paramMinECDSABits)
	return certControl(o, yesNo(func(ep *collect.TLSObservation, c *tlsscan.CertReport) (bool, string) {
		key := fmt.Sprintf("%s %d bits", c.KeyType, c.KeyBits)
		switch c.KeyType {
		case "RSA", "DSA":
			if c.KeyBits < minRSA {
				return true, fmt.Sprintf("the certificate key is %s (at least %d required)", key, minRSA)
			}
		case "ECDSA":
			if c.KeyBits < minECDSA {
				return true, fmt.Sprintf("the certificate key is %s (at least %d required)", key, minECDSA)
			}
		case "Ed25519":
		default:
			return true, "the certificate key type " + key + " is not recognised as strong"
		}
		return false, "the certificate key is " + key
	}))
}

func evalWeakSignature(o *collect.Observations, ctl *catalog.Control) scoring.Verdict {
	weakAlgs := ctl.List(paramWeakSignatures)
	return certControl(o, yesNo(func(ep *collect.TLSObservation, c *tlsscan.CertReport) (bool, string) {
		var sigs []string
		weak := false
		for i, cert := range c.Chain {
			if i > 0 && string(cert.RawSubject) == string(cert.RawIssuer) {
				continue // a root's own signature is not relied upon
			}
			sigs = append(sigs, cert.SignatureAlgorithm.String())
			weak = weak || slices.Contains(weakAlgs, signatureName(cert.SignatureAlgorithm))
		}
		if weak {
			return true, "the chain is signed with " + strings.Join(sigs, ", ") + " (MD5 or SHA-1)"
		}
		return false, "the chain is signed with " + strings.Join(sigs, ", ")
	}))
}
