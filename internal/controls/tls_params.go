package controls

import (
	"crypto/x509"
	"fmt"
	"slices"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/probe/tlsscan"
)

// The transport_tls params, as named in the catalog.
const (
	paramLegacyVersions = "legacy_versions"
	paramWeakProperties = "weak_properties"
	paramMinDHBits      = "min_dh_bits"
	paramMinECBits      = "min_ec_bits"
	paramWarningDays    = "warning_days"
	paramMinRSABits     = "min_rsa_bits"
	paramMinECDSABits   = "min_ecdsa_bits"
	paramWeakSignatures = "weak_signature_algorithms"
)

func checkLegacyVersions(c *catalog.Control) error {
	for _, v := range c.List(paramLegacyVersions) {
		if _, err := tlsscan.ParseVersion(v); err != nil {
			return fmt.Errorf("param %s: %w", paramLegacyVersions, err)
		}
	}
	return nil
}

// legacyVersions reads the legacy_versions param (checked at load).
func legacyVersions(c *catalog.Control) []tlsscan.Version {
	var out []tlsscan.Version
	for _, s := range c.List(paramLegacyVersions) {
		if v, err := tlsscan.ParseVersion(s); err == nil {
			out = append(out, v)
		}
	}
	return out
}

// suiteProperty is a named property of a cipher suite.
type suiteProperty struct {
	name string
	has  func(s tlsscan.Suite) bool
}

// suiteProperties is the closed vocabulary of weak_properties, in the
// order a reason names them, each with the fact of a suite it reads.
var suiteProperties = []suiteProperty{
	{"NULL", func(s tlsscan.Suite) bool { return s.Enc == "None" }},
	{"anonymous", func(s tlsscan.Suite) bool { return s.Au == "None" }},
	{"export", func(s tlsscan.Suite) bool { return s.Export }},
	{"RC4", func(s tlsscan.Suite) bool { return s.Enc == "RC4" }},
	{"DES", func(s tlsscan.Suite) bool { return s.Enc == "DES" }},
	{"3DES", func(s tlsscan.Suite) bool { return s.Enc == "3DES" }},
	{"MD5", func(s tlsscan.Suite) bool { return s.Mac == "MD5" }},
}

func checkWeakProperties(c *catalog.Control) error {
	for _, p := range c.List(paramWeakProperties) {
		if !slices.ContainsFunc(suiteProperties, func(sp suiteProperty) bool { return sp.name == p }) {
			return fmt.Errorf("param %s: unknown suite property %q", paramWeakProperties, p)
		}
	}
	return nil
}

// weaknesses lists the weak properties of s, in vocabulary order.
func weaknesses(s tlsscan.Suite, weak []string) []string {
	var out []string
	for _, p := range suiteProperties {
		if slices.Contains(weak, p.name) && p.has(s) {
			out = append(out, p.name)
		}
	}
	return out
}

// signatureName is the name crypto/x509 gives a signature algorithm, and
// "MD2-RSA" for the one it leaves unnamed.
func signatureName(a x509.SignatureAlgorithm) string {
	if a == x509.MD2WithRSA {
		return "MD2-RSA"
	}
	return a.String()
}

// signatureAlgorithms are the names a weak_signature_algorithms entry may use.
var signatureAlgorithms = func() map[string]bool {
	m := map[string]bool{}
	for a := x509.MD2WithRSA; a <= x509.PureEd25519; a++ {
		m[signatureName(a)] = true
	}
	return m
}()

func checkSignatureAlgorithms(c *catalog.Control) error {
	for _, a := range c.List(paramWeakSignatures) {
		if !signatureAlgorithms[a] {
			return fmt.Errorf("param %s: %q is not a crypto/x509 signature algorithm name", paramWeakSignatures, a)
		}
	}
	return nil
}
