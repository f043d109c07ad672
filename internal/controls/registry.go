// Package controls judges: each control of the catalog has one evaluation
// here, a pure function from the audit's Observations (package collect) and
// the control's catalog entry to a Verdict. Evaluations do no I/O and read
// every threshold (key sizes, group sizes, the expiry window, algorithm
// names) from the control's catalog params, never from Go. The registry
// below is the one list of evaluations; CheckRegistry holds it and the
// catalog to each other, both ways, params included.
package controls

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/collect"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/scoring"
)

// evalFunc judges one control from the observations.
type evalFunc func(o *collect.Observations, c *catalog.Control) scoring.Verdict

// evaluation is a registered evaluation with the catalog params it reads.
type evaluation struct {
	eval evalFunc
	// params names each param the evaluation reads and its kind.
	params map[string]catalog.ParamKind
	// check validates the params' values beyond their kind (nil: none).
	check func(c *catalog.Control) error
}

func plain(f evalFunc) evaluation { return evaluation{eval: f} }

// registry is the one list of control evaluations, keyed by catalog id.
// CheckRegistry (at every audit, and in a test) fails when it and the
// catalog disagree.
var registry = map[string]evaluation{
	"ingest_auth.unauthenticated_ingest_allowed": plain(evalUnauthenticatedIngest),
	"ingest_auth.invalid_token_accepted":         plain(evalInvalidToken),
	"ingest_auth.authenticated_ingest_rejected":  plain(evalAuthenticatedIngest),
	"ingest_auth.insecure_transport":             plain(evalInsecureTransport),

	"gateway_config_guardrails.auth_enforcement_disabled":      plain(evalConfigRules),
	"gateway_config_guardrails.unsafe_defaults_not_observable": plain(evalConfigRules),
	"gateway_config_guardrails.tls_minimum_below_1_2":          plain(evalConfigRules),

	"gateway_runtime.health_unavailable": plain(evalHealth),

	"mqtt_broker.anonymous_access_allowed":   plain(evalMQTTAnonymous),
	"mqtt_broker.credentials_not_verified":   plain(evalMQTTCredentials),
	"mqtt_broker.wildcard_subscribe_allowed": plain(evalMQTTWildcard),
	"mqtt_broker.sys_topics_exposed":         plain(evalMQTTSys),
	"mqtt_broker.plaintext_listener":         plain(evalMQTTPlaintext),

	"transport_tls.legacy_protocol_enabled": {eval: evalLegacyProtocol,
		params: map[string]catalog.ParamKind{paramLegacyVersions: catalog.ParamList}, check: checkLegacyVersions},
	"transport_tls.weak_cipher_suites": {eval: evalWeakCipherSuites,
		params: map[string]catalog.ParamKind{paramWeakProperties: catalog.ParamList}, check: checkWeakProperties},
	"transport_tls.no_forward_secrecy": plain(evalNoForwardSecrecy),
	"transport_tls.weak_dh_group": {eval: evalWeakDHGroup,
		params: map[string]catalog.ParamKind{paramMinDHBits: catalog.ParamInt, paramMinECBits: catalog.ParamInt}, check: positive(paramMinDHBits, paramMinECBits)},
	"transport_tls.certificate_untrusted": plain(evalCertificateUntrusted),
	"transport_tls.certificate_expired":   plain(evalCertificateExpired),
	"transport_tls.certificate_expiring_soon": {eval: evalCertificateExpiringSoon,
		params: map[string]catalog.ParamKind{paramWarningDays: catalog.ParamInt}, check: positive(paramWarningDays)},
	"transport_tls.hostname_mismatch": plain(evalHostnameMismatch),
	"transport_tls.weak_key": {eval: evalWeakKey,
		params: map[string]catalog.ParamKind{paramMinRSABits: catalog.ParamInt, paramMinECDSABits: catalog.ParamInt}, check: positive(paramMinRSABits, paramMinECDSABits)},
	"transport_tls.weak_signature": {eval: evalWeakSignature,
		params: map[string]catalog.ParamKind{paramWeakSignatures: catalog.ParamList}, check: checkSignatureAlgorithms},
	"transport_tls.tls13_not_supported": plain(evalTLS13NotSupported),
}

// CheckRegistry reports every id that is in the catalog but not registered,
// or registered but not in the catalog, and every param an evaluation reads
// that its catalog entry lacks, has of another kind or with a bad value, or
// that the entry has and no evaluation reads, and every ingestd rule key
// that is not an ingestd setting. The user's own controls (custom.*) need
// no registration: the config rule engine evaluates them.
func CheckRegistry(cat *catalog.Catalog) error {
	var problems []string
	for _, id := range cat.IDs() {
		c, _ := cat.Get(id)
		e, ok := evaluationFor(c)
		if !ok {
			problems = append(problems, id+": in the catalog, no evaluation registered")
			continue
		}
		problems = append(problems, checkParams(c, e)...)
		problems = append(problems, checkRuleKeys(c)...)
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

func checkParams(c *catalog.Control, e evaluation) []string {
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(e.params)) {
		p, ok := c.Params[name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: the evaluation reads param %s, the catalog does not set it", c.ID, name))
		case p.Kind() != e.params[name]:
			problems = append(problems, fmt.Sprintf("%s: param %s must be %s, the catalog has %s", c.ID, name, e.params[name], p.Kind()))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Params)) {
		if _, ok := e.params[name]; !ok {
			problems = append(problems, fmt.Sprintf("%s: param %s is set in the catalog, no evaluation reads it", c.ID, name))
		}
	}
	if len(problems) == 0 && e.check != nil {
		if err := e.check(c); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", c.ID, err))
		}
	}
	return problems
}

// positive checks that integer params are above zero.
func positive(names ...string) func(c *catalog.Control) error {
	return func(c *catalog.Control) error {
		var errs []error
		for _, n := range names {
			if c.Int(n) <= 0 {
				errs = append(errs, fmt.Errorf("param %s must be positive, got %d", n, c.Int(n)))
			}
		}
		return errors.Join(errs...)
	}
}

// Evaluate judges every catalog control with its registered evaluation, in
// catalog order. The catalog must have passed CheckRegistry.
func Evaluate(o *collect.Observations, cat *catalog.Catalog, logger *slog.Logger) []result.ControlResult {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	out := make([]result.ControlResult, 0, len(cat.Controls))
	for i := range cat.Controls {
		c := &cat.Controls[i]
		e, _ := evaluationFor(c)
		v := e.eval(o, c)
		if v.Evidence == nil {
			v.Evidence = []result.Evidence{}
		}
		logger.Debug("control evaluated", "id", c.ID, "status", v.Status, "reason", v.Reason)
		out = append(out, result.ControlResult{
			ID: c.ID, Title: c.Title, Severity: c.Severity, Domains: c.Domains,
			Status: v.Status, Reason: v.Reason, Evidence: v.Evidence,
		})
	}
	return out
}
