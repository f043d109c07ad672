package report

import (
	"fmt"
	"github.com/hardgate/hardgate/internal/result"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// maxExcerpt bounds how much of any single evidence body a renderer prints.
const maxExcerpt = 2048

// secretHeaders are request and response headers whose values are never
// printed in a report, whatever a probe recorded.
var secretHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie"}

// RedactHeader returns value with the credential part of a secret header
// replaced, keeping the scheme ("Bearer [redacted]").
func RedactHeader(name, value string) string {
	if !slices.Contains(secretHeaders, http.CanonicalHeaderKey(name)) {
		return value
	}
	if scheme, _, ok := strings.Cut(value, " "); ok && scheme != "" {
		return scheme + " [redacted]"
	}
	return "[redacted]"
}

// EvidenceTitle is a one-line label for a piece of evidence: its location
// (file:line, URL, address) and its summary.
func EvidenceTitle(e result.Evidence) string {
	loc := EvidenceLocation(e)
	if loc != "" && strings.Contains(e.Summary, loc) {
		loc = "" // the summary already says where
	}
	switch {
	case loc != "" && e.Summary != "":
		return e.Kind + " " + loc + ": " + e.Summary
	case loc != "":
		return e.Kind + " " + loc
	case e.Summary != "":
		return e.Kind + ": " + e.Summary
	}
	return e.Kind
}

// EvidenceLocation names where the evidence was observed.
func EvidenceLocation(e result.Evidence) string {
	switch {
	case e.Config != nil:
		if e.Config.Line > 0 {
			return fmt.Sprintf("%s:%d", e.Config.File, e.Config.Line)
		}
		return e.Config.File
	case e.HTTP != nil:
		return e.HTTP.URL
	case e.TLS != nil:
		return e.TLS.Address
	case e.MQTT != nil:
		return e.MQTT.Broker
	case e.TCP != nil:
		return e.TCP.Address
	}
	return ""
}

// EvidenceDetail is the multi-line excerpt behind a piece of evidence:
// request and response for HTTP, key = value for config, accepted suites
// for TLS, the step for MQTT. Secrets in headers are redacted and bodies
// are bounded.
func EvidenceDetail(e result.Evidence) string {
	var b strings.Builder
	switch {
	case e.HTTP != nil:
		httpDetail(&b, e.HTTP)
	case e.Config != nil:
		c := e.Config
		loc := c.File
		if c.Line > 0 {
			loc = fmt.Sprintf("%s:%d", c.File, c.Line)
		}
		fmt.Fprintf(&b, "%s\n%s = %s\n", loc, c.Key, excerpt(c.Value))
	case e.TLS != nil:
		tlsDetail(&b, e.TLS)
	case e.MQTT != nil:
		m := e.MQTT
		fmt.Fprintf(&b, "broker: %s\naction: %s\n", m.Broker, m.Action)
		if m.Username != "" {
			fmt.Fprintf(&b, "username: %s\n", m.Username)
		}
		if m.Topic != "" {
			fmt.Fprintf(&b, "topic: %s\n", m.Topic)
		}
		fmt.Fprintf(&b, "reason code: %d\noutcome: %s\n", m.ReasonCode, m.Outcome)
		if m.Error != "" {
			fmt.Fprintf(&b, "error: %s\n", m.Error)
		}
	case e.TCP != nil:
		t := e.TCP
		fmt.Fprintf(&b, "dial %s: connected %t\n", t.Address, t.Connected)
		if t.Error != "" {
			fmt.Fprintf(&b, "error: %s\n", t.Error)
		}
	default:
		if e.Summary != "" {
			b.WriteString(e.Summary + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// httpDetail writes the request and its response (or error).
func httpDetail(b *strings.Builder, h *result.HTTPExchange) {
	fmt.Fprintf(b, "%s %s\n", h.Method, h.URL)
	writeHeaders(b, h.RequestHeaders)
	if h.RequestBody != "" {
		fmt.Fprintf(b, "\n%s\n", excerpt(h.RequestBody))
	}
	b.WriteString("\n")
	switch {
	case h.Error != "":
		fmt.Fprintf(b, "-> error: %s\n", h.Error)
	case h.StatusCode != 0:
		fmt.Fprintf(b, "-> %d %s", h.StatusCode, http.StatusText(h.StatusCode))
		if h.TLSVersion != "" {
			fmt.Fprintf(b, " (%s, verified: %t)", h.TLSVersion, h.TLSVerified)
		}
		b.WriteString("\n")
	}
	writeHeaders(b, h.ResponseHeaders)
	if h.BodyExcerpt != "" {
		trunc := ""
		if h.BodyTruncated {
			trunc = "\n[body truncated]"
		}
		fmt.Fprintf(b, "\n%s%s\n", excerpt(h.BodyExcerpt), trunc)
	}
}

// tlsDetail writes what a TLS scan saw: versions, suites, chain, groups.
func tlsDetail(b *strings.Builder, t *result.TLSEvidence) {
	fmt.Fprintf(b, "address: %s\n", t.Address)
	if t.Version != "" {
		fmt.Fprintf(b, "negotiated: %s %s\n", t.Version, t.CipherSuite)
	}
	if len(t.Accepted) > 0 {
		b.WriteString("accepted:\n")
		for _, s := range slices.Sorted(slices.Values(t.Accepted)) {
			fmt.Fprintf(b, "  %s\n", s)
		}
	}
	for i, c := range t.Certificates {
		fmt.Fprintf(b, "certificate %d: subject %q issuer %q, %s %d bits, %s, valid %s to %s\n", i, c.Subject, c.Issuer,
			c.KeyType, c.KeyBits, c.SignatureAlgorithm, c.NotBefore.UTC().Format("2006-01-02"), c.NotAfter.UTC().Format("2006-01-02"))
		if len(c.DNSNames)+len(c.IPAddresses) > 0 {
			fmt.Fprintf(b, "  SANs: %s\n", strings.Join(append(slices.Clone(c.DNSNames), c.IPAddresses...), ", "))
		}
	}
	if len(t.ServerOrder) > 0 {
		fmt.Fprintf(b, "cipher order: %s\n", strings.Join(t.ServerOrder, "; "))
	}
	for _, g := range t.Groups {
		fmt.Fprintf(b, "groups %s\n", g)
	}
	if t.VerifyError != "" {
		fmt.Fprintf(b, "verify error: %s\n", t.VerifyError)
	}
	if t.Detail != "" {
		fmt.Fprintf(b, "%s\n", excerpt(t.Detail))
	}
}

func writeHeaders(b *strings.Builder, h map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(h)) {
		fmt.Fprintf(b, "%s: %s\n", k, RedactHeader(k, h[k]))
	}
}

func excerpt(s string) string {
	if len(s) <= maxExcerpt {
		return s
	}
	cut := maxExcerpt
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "\n[... excerpt cut at " + fmt.Sprint(maxExcerpt) + " bytes]"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
