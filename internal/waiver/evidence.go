package waiver

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hardgate/hardgate/internal/result"
)

// EvidenceText is the text a waiver's match is looked for in: the
// evidence's summary and every field of its typed part, one per line (an
// accepted TLS pair such as "TLSv1.2 AES128-SHA" is one line; a config
// setting is "key = value"). A match never spans two pieces of evidence.
func EvidenceText(e result.Evidence) string {
	lines := []string{e.Summary}
	add := func(s ...string) {
		for _, v := range s {
			if v != "" {
				lines = append(lines, v)
			}
		}
	}
	if h := e.HTTP; h != nil {
		add(h.Method+" "+h.URL, h.RequestBody, h.BodyExcerpt, h.TLSVersion, h.Error)
		if h.StatusCode != 0 {
			add(fmt.Sprint(h.StatusCode))
		}
		for _, k := range slices.Sorted(maps.Keys(h.ResponseHeaders)) {
			add(k + ": " + h.ResponseHeaders[k])
		}
	}
	if c := e.Config; c != nil {
		add(c.File, c.Key+" = "+c.Value)
	}
	if t := e.TLS; t != nil {
		add(t.Address, t.Version, t.CipherSuite, t.VerifyError, t.Detail)
		add(t.Accepted...)
		add(t.ServerOrder...)
		add(t.Groups...)
		for _, c := range t.Certificates {
			add(c.Subject, c.Issuer, c.KeyType, c.SignatureAlgorithm, c.SHA256)
			add(c.DNSNames...)
			add(c.IPAddresses...)
		}
	}
	if m := e.MQTT; m != nil {
		add(m.Broker, m.Action, m.Username, m.Topic, m.Outcome, m.Error)
	}
	if t := e.TCP; t != nil {
		add(t.Address, t.Error)
	}
	return strings.Join(lines, "\n")
}
