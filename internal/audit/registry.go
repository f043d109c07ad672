package audit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/result"
)

// Verdict is a control's status with the reason and the evidence behind it.
type Verdict struct {
	Status   result.Status
	Reason   string
	Evidence []result.Evidence
}

// evalFunc judges one control from the observations.
type evalFunc func(o *Observations, c *catalog.Control) Verdict

// registry is the one list of control evaluations, keyed by catalog id.
// CheckRegistry (at every audit, and in a test) fails when it and the
// catalog disagree.
var registry = map[string]evalFunc{
	"ingest_auth.unauthenticated_ingest_allowed": evalUnauthenticatedIngest,
	"ingest_auth.invalid_token_accepted":         evalInvalidToken,
	"ingest_auth.authenticated_ingest_rejected":  evalAuthenticatedIngest,
	"ingest_auth.insecure_transport":             evalInsecureTransport,

	"gateway_config_guardrails.auth_enforcement_disabled":      evalConfigRules,
	"gateway_config_guardrails.unsafe_defaults_not_observable": evalConfigRules,
	"gateway_config_guardrails.tls_minimum_below_1_2":          evalConfigRules,

	"gateway_runtime.health_unavailable": evalHealth,

	"mqtt_broker.anonymous_access_allowed":   evalMQTTAnonymous,
	"mqtt_broker.credentials_not_verified":   evalMQTTCredentials,
	"mqtt_broker.wildcard_subscribe_allowed": evalMQTTWildcard,
	"mqtt_broker.sys_topics_exposed":         evalMQTTSys,
	"mqtt_broker.plaintext_listener":         evalMQTTPlaintext,

	"transport_tls.legacy_protocol_enabled":   evalLegacyProtocol,
	"transport_tls.weak_cipher_suites":        evalWeakCipherSuites,
	"transport_tls.no_forward_secrecy":        evalNoForwardSecrecy,
	"transport_tls.weak_dh_group":             evalWeakDHGroup,
	"transport_tls.certificate_untrusted":     evalCertificateUntrusted,
	"transport_tls.certificate_expired":       evalCertificateExpired,
	"transport_tls.certificate_expiring_soon": evalCertificateExpiringSoon,
	"transport_tls.hostname_mismatch":         evalHostnameMismatch,
	"transport_tls.weak_key":                  evalWeakKey,
	"transport_tls.weak_signature":            evalWeakSignature,
	"transport_tls.tls13_not_supported":       evalTLS13NotSupported,
}

// CheckRegistry reports every id that is in the catalog but not registered,
// or registered but not in the catalog.
func CheckRegistry(cat *catalog.Catalog) error {
	var problems []string
	for _, id := range cat.IDs() {
		if _, ok := registry[id]; !ok {
			problems = append(problems, id+": in the catalog, no evaluation registered")
		}
	}
	for id := range registry {
		if _, ok := cat.Get(id); !ok {
			problems = append(problems, id+": evaluation registered, not in the catalog")
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return fmt.Errorf("catalog and registry disagree:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}
