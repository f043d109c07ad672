package tlsscan

import (
	"fmt"
	"strings"
)

// Suite describes one cipher suite of the IANA registry. Kx, Au, Enc and Mac
// use OpenSSL's vocabulary (Kx "ECDH" is ephemeral ECDHE, "ECDH/RSA" static
// ECDH; Kx "DH" is DHE, "DH/RSA" static DH; Au "None" is anonymous).
type Suite struct {
	ID         uint16
	OpenSSL    string // OpenSSL name, empty when OpenSSL has none
	IANA       string
	MinVersion Version
	Kx         string
	Au         string
	Enc        string
	Bits       int
	Mac        string
	Export     bool
}

// Name is the OpenSSL name (the one sslscan and nginx use), or the IANA name.
func (s Suite) Name() string {
	if s.OpenSSL != "" {
		return s.OpenSSL
	}
	return s.IANA
}

// TLS13 reports whether the suite exists only in TLS 1.3.
func (s Suite) TLS13() bool { return s.MinVersion == VersionTLS13 }

// Null reports a suite without encryption.
func (s Suite) Null() bool { return s.Enc == "None" }

// Anonymous reports a suite without server authentication.
func (s Suite) Anonymous() bool { return s.Au == "None" }

// RC4 reports an RC4 suite.
func (s Suite) RC4() bool { return s.Enc == "RC4" }

// DES reports a single DES or triple DES suite.
func (s Suite) DES() bool { return s.Enc == "DES" || s.Enc == "3DES" }

// MD5 reports a suite whose record MAC is HMAC-MD5.
func (s Suite) MD5() bool { return s.Mac == "MD5" }

// ForwardSecret reports whether the key exchange is ephemeral (DHE, ECDHE,
// or any TLS 1.3 suite).
func (s Suite) ForwardSecret() bool {
	switch s.Kx {
	case "DH", "ECDH", "DHEPSK", "ECDHEPSK", "any", "CECPQ1":
		return true
	}
	return strings.HasPrefix(s.Kx, "DH(") // export DHE
}

// DHE reports a finite-field ephemeral Diffie-Hellman key exchange.
func (s Suite) DHE() bool {
	return s.Kx == "DH" || s.Kx == "DHEPSK" || strings.HasPrefix(s.Kx, "DH(")
}

// ECDHE reports an elliptic-curve ephemeral key exchange.
func (s Suite) ECDHE() bool { return s.Kx == "ECDH" || s.Kx == "ECDHEPSK" }

// AEAD reports an AEAD suite (GCM, CCM, ChaCha20-Poly1305).
func (s Suite) AEAD() bool { return s.Mac == "AEAD" }

// String is "NAME (0xC02F)".
func (s Suite) String() string { return fmt.Sprintf("%s (0x%04X)", s.Name(), s.ID) }

var suiteByID = func() map[uint16]Suite {
	m := make(map[uint16]Suite, len(suites))
	for _, s := range suites {
		if _, dup := m[s.ID]; !dup {
			m[s.ID] = s
		}
	}
	return m
}()

// SuiteByID looks a suite up by its IANA code point. Unknown code points
// return a Suite named after the number, with ok false.
func SuiteByID(id uint16) (s Suite, ok bool) {
	s, ok = suiteByID[id]
	if !ok {
		name := fmt.Sprintf("UNKNOWN-0x%04X", id)
		s = Suite{ID: id, IANA: name, Kx: "unknown", Au: "unknown", Enc: "unknown", Mac: "unknown"}
	}
	return s, ok
}

// offerOrder is every known suite once, strongest first (testssl.sh's
// order), so that a server honouring the client's order picks what a modern
// client would get.
func offerOrder(tls13 bool) []uint16 {
	seen := make(map[uint16]bool, len(suites))
	var ids []uint16
	for _, s := range suites {
		if s.TLS13() != tls13 || seen[s.ID] {
			continue
		}
		seen[s.ID] = true
		ids = append(ids, s.ID)
	}
	return ids
}

// legacySuiteIDs is every non-TLS-1.3 suite, offered in ClientHellos for
// SSLv3 to TLS 1.2 (the server ignores what its version cannot use).
func legacySuiteIDs() []uint16 { return offerOrder(false) }

func tls13SuiteIDs() []uint16 { return offerOrder(true) }
