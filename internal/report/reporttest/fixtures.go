// Package reporttest provides deterministic audit results for tests of the
// renderers, the delta and the commands that read results: the worked
// example's "before" (FAIL, red, 4 findings: 3 high, 1 medium) and "after"
// (PASS, green, risk 0, no findings). Clock and ids are fixed.
package reporttest

import (
	"time"

	"github.com/hardgate/hardgate/internal/report"
)

// Control ids of the worked example.
const (
	AuthEnforcementDisabled    = "gateway_config_guardrails.auth_enforcement_disabled"
	UnsafeDefaultsNotObserved  = "gateway_config_guardrails.unsafe_defaults_not_observable"
	UnauthenticatedIngest      = "ingest_auth.unauthenticated_ingest_allowed"
	InsecureTransport          = "ingest_auth.insecure_transport"
	ValidTokenAccepted         = "ingest_auth.valid_token_accepted"
	HealthEndpointAvailable    = "ingest_availability.health_endpoint"
	TLSModernProtocols         = "tls.modern_protocols_only"
	MQTTAnonymousAccessBlocked = "mqtt.anonymous_access_blocked"
)

// TargetName is the name of the fixture gateway.
const TargetName = "edge-gw-01"

// Domains of the worked example.
const (
	DomainIdentity = "Identity & Cryptography"
	DomainAccess   = "Access Control"
	DomainData     = "Data Protection"
	DomainResil    = "Resilience"
)

var base = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

func tool() report.Tool { return report.Tool{Name: "hardgate", Version: "0.1.0-test"} }

// Before returns the worked example's result before the hardening sprint.
func Before() *report.Result {
	cfg := "examples/gateway-hardening/before/ingestd.yaml"
	authCfg := report.Evidence{Kind: "config", Summary: "auth.required is false", Config: &report.ConfigLine{File: cfg, Line: 14, Key: "auth.required", Value: "false"}}
	unsafeCfg := report.Evidence{Kind: "config", Summary: "unsafe settings are not published", Config: &report.ConfigLine{File: cfg, Line: 22, Key: "posture.expose", Value: "false"}}
	plainCfg := report.Evidence{Kind: "config", Summary: "plaintext listener enabled", Config: &report.ConfigLine{File: cfg, Line: 5, Key: "listen.plaintext", Value: "true"}}
	unauth := report.Evidence{Kind: "http", Summary: "unauthenticated POST was accepted", HTTP: &report.HTTPExchange{
		Method: "POST", URL: "http://127.0.0.1:8080/v1/ingest",
		RequestHeaders: map[string]string{"Content-Type": "application/json", "X-Hardgate-Probe": "1"},
		RequestBody:    `{"device":"hardgate-probe","hardgate_probe":true}`,
		StatusCode:     202, ResponseHeaders: map[string]string{"Content-Type": "application/json"},
		BodyExcerpt: `{"accepted":1}`,
	}}
	plain := report.Evidence{Kind: "http", Summary: "ingest answered over plaintext HTTP", HTTP: &report.HTTPExchange{
		Method: "POST", URL: "http://127.0.0.1:8080/v1/ingest",
		RequestHeaders: map[string]string{"Authorization": "Bearer s3cr3t-token-value", "Content-Type": "application/json"},
		StatusCode:     202, BodyExcerpt: `{"accepted":1}`,
	}}
	tcp := report.Evidence{Kind: "tcp", Summary: "plaintext port open", TCP: &report.TCPDial{Address: "127.0.0.1:8080", Connected: true}}
	valid := report.Evidence{Kind: "http", Summary: "authenticated POST accepted", HTTP: &report.HTTPExchange{
		Method: "POST", URL: "http://127.0.0.1:8080/v1/ingest",
		RequestHeaders: map[string]string{"Authorization": "Bearer s3cr3t-token-value"},
		StatusCode:     202,
	}}
	health := report.Evidence{Kind: "http", Summary: "health OK", HTTP: &report.HTTPExchange{Method: "GET", URL: "http://127.0.0.1:8080/healthz", StatusCode: 200, BodyExcerpt: "ok"}}

	controls := []report.ControlResult{
		{ID: AuthEnforcementDisabled, Title: "Token authentication is enforced in the gateway config", Severity: "high", Domains: []string{DomainAccess}, Status: report.StatusFail, Reason: "auth.required is false", Evidence: []report.Evidence{authCfg}},
		{ID: UnsafeDefaultsNotObserved, Title: "Unsafe settings in force are observable", Severity: "medium", Domains: []string{DomainIdentity, DomainAccess}, Status: report.StatusFail, Reason: "unsafe settings are in force but not exposed in the posture document", Evidence: []report.Evidence{unsafeCfg}},
		{ID: UnauthenticatedIngest, Title: "Ingest refuses unauthenticated requests", Severity: "high", Domains: []string{DomainAccess, DomainData}, Status: report.StatusFail, Reason: "POST /v1/ingest without credentials returned 202, want 401", Evidence: []report.Evidence{unauth}},
		{ID: InsecureTransport, Title: "Ingest is served over verified TLS only", Severity: "high", Domains: []string{DomainIdentity, DomainData}, Status: report.StatusFail, Reason: "ingest URL uses plaintext http", Evidence: []report.Evidence{plain, tcp, plainCfg}},
		{ID: ValidTokenAccepted, Title: "Ingest accepts a valid device token", Severity: "medium", Domains: []string{DomainData}, Status: report.StatusPass, Reason: "authenticated POST returned 202", Evidence: []report.Evidence{valid}},
		{ID: HealthEndpointAvailable, Title: "Health endpoint answers", Severity: "low", Domains: []string{DomainResil}, Status: report.StatusPass, Reason: "GET /healthz returned 200", Evidence: []report.Evidence{health}},
		{ID: TLSModernProtocols, Title: "Only TLS 1.2 and later with modern suites are accepted", Severity: "high", Domains: []string{DomainIdentity}, Status: report.StatusNotApplicable, Reason: "no TLS endpoint to scan"},
		{ID: MQTTAnonymousAccessBlocked, Title: "MQTT broker refuses anonymous clients", Severity: "high", Domains: []string{DomainAccess}, Status: report.StatusNotApplicable, Reason: "no MQTT endpoint in the target"},
	}
	refs := func(etsi, owasp, iec, nist string) report.References {
		return report.References{ETSIEN303645: []string{etsi}, OWASPIoT2018: []string{owasp}, IEC62443_4_2: []string{iec}, NISTIR8259A: []string{nist}}
	}
	findings := []report.Finding{
		{ID: AuthEnforcementDisabled, Title: controls[0].Title, Severity: "high", Domains: controls[0].Domains, Reason: controls[0].Reason,
			Risk: "Anyone who can reach the gateway can inject telemetry.", Evidence: controls[0].Evidence,
			Remediation:  report.Remediation{Text: "Require bearer-token authentication on the ingest path.", ConfigChange: "auth:\n  required: true"},
			Verification: report.Verification{Request: "POST /v1/ingest without Authorization", Expected: "401 with WWW-Authenticate: Bearer"},
			References:   refs("5.1-1", "I1", "CR 1.2", "Device Identification")},
		{ID: UnsafeDefaultsNotObserved, Title: controls[1].Title, Severity: "medium", Domains: controls[1].Domains, Reason: controls[1].Reason,
			Risk: "Operators cannot see that the gateway runs with unsafe opt-ins.", Evidence: controls[1].Evidence,
			Remediation:  report.Remediation{Text: "Publish every unsafe setting in force in the posture document and metrics.", ConfigChange: "posture:\n  expose: true"},
			Verification: report.Verification{Request: "GET /posture", Expected: "200 listing every unsafe setting in force"},
			References:   refs("5.2-1", "I9", "CR 7.6", "Device Configuration")},
		{ID: UnauthenticatedIngest, Title: controls[2].Title, Severity: "high", Domains: controls[2].Domains, Reason: controls[2].Reason,
			Risk: "Forged telemetry reaches downstream systems.", Evidence: controls[2].Evidence,
			Remediation:  report.Remediation{Text: "Check the bearer token before reading the body; answer 401.", ConfigChange: "auth:\n  required: true\n  tokens_file: /etc/ingestd/tokens"},
			Verification: report.Verification{Request: "curl -X POST https://127.0.0.1:8443/v1/ingest -d '{}'", Expected: "401"},
			References:   refs("5.5-4", "I3", "CR 2.1", "Logical Access to Interfaces")},
		{ID: InsecureTransport, Title: controls[3].Title, Severity: "high", Domains: controls[3].Domains, Reason: controls[3].Reason,
			Risk: "Tokens and telemetry travel in clear text and can be read or altered.", Evidence: controls[3].Evidence,
			Remediation:  report.Remediation{Text: "Serve ingest on HTTPS with TLS 1.2+ and remove the plaintext opt-in.", ConfigChange: "listen:\n  address: 127.0.0.1:8443\n  plaintext: false"},
			Verification: report.Verification{Request: "curl --cacert ca.pem https://127.0.0.1:8443/healthz", Expected: "200 over TLS 1.3 with a verified chain"},
			References:   refs("5.5-1", "I7", "CR 4.1", "Data Protection")},
	}
	backlog := []report.BacklogItem{
		{ID: "HG-1", ControlID: AuthEnforcementDisabled, Title: "Enforce token authentication in ingestd config", Priority: "P1", Severity: "high", Domain: DomainAccess, Owner: "gateway team", AcceptanceTest: "POST /v1/ingest without token returns 401"},
		{ID: "HG-2", ControlID: UnauthenticatedIngest, Title: "Reject unauthenticated ingest", Priority: "P1", Severity: "high", Domain: DomainAccess, Owner: "gateway team", AcceptanceTest: "POST /v1/ingest without token returns 401; with token 202"},
		{ID: "HG-3", ControlID: InsecureTransport, Title: "Serve ingest over verified HTTPS", Priority: "P1", Severity: "high", Domain: DomainIdentity, Owner: "platform team", AcceptanceTest: "https://127.0.0.1:8443/healthz verifies against the CA; port 8080 closed"},
		{ID: "HG-4", ControlID: UnsafeDefaultsNotObserved, Title: "Expose unsafe settings in the posture document", Priority: "P2", Severity: "medium", Domain: DomainIdentity, Owner: "gateway team", AcceptanceTest: "GET /posture lists every unsafe opt-in"},
	}
	return &report.Result{
		SchemaVersion: report.SchemaVersion,
		Tool:          tool(),
		AuditID:       "audit-0001-before",
		StartedAt:     base,
		FinishedAt:    base.Add(1500 * time.Millisecond),
		Target: report.Target{
			Name:        TargetName,
			IngestURLs:  []string{"http://127.0.0.1:8080/v1/ingest"},
			HealthURL:   "http://127.0.0.1:8080/healthz",
			TokenEnv:    "HARDGATE_TOKEN",
			ConfigFiles: []report.ConfigFile{{Path: cfg, Kind: "ingestd", SHA256: "3f1c9a0b7d2e4f60718293a4b5c6d7e8f9a0b1c2d3e4f5061728394a5b6c7d8e"}},
		},
		Summary: report.Summary{
			Status:         report.AuditFail,
			Posture:        report.PostureRed,
			RiskScore:      31,
			Headline:       "FAIL: 4 findings (3 high, 1 medium); ingest accepts unauthenticated data over plaintext HTTP.",
			NextStep:       "Run the hardening sprint: HTTPS on 8443, enforced bearer tokens, posture exposed; then re-audit.",
			SeverityCounts: map[string]int{"critical": 0, "high": 3, "medium": 1, "low": 0, "info": 0},
			Findings:       4,
			Controls:       report.ControlCounts{Total: 8, Pass: 2, Fail: 4, NotApplicable: 2},
			Domains: []report.DomainPosture{
				{Name: DomainAccess, Posture: report.PostureRed, Findings: 3, Controls: 4},
				{Name: DomainData, Posture: report.PostureRed, Findings: 2, Controls: 3},
				{Name: DomainIdentity, Posture: report.PostureRed, Findings: 2, Controls: 3},
				{Name: DomainResil, Posture: report.PostureGreen, Findings: 0, Controls: 1},
			},
			PositiveControlRan: true,
			Notes:              []string{"TLS checks were not applicable: the target serves no TLS endpoint."},
		},
		Controls: controls,
		Findings: findings,
		Backlog:  backlog,
	}
}

// After returns the worked example's result after the hardening sprint:
// PASS, green, risk 0, no findings, no backlog.
func After() *report.Result {
	cfg := "examples/gateway-hardening/after/ingestd.yaml"
	url := "https://127.0.0.1:8443/v1/ingest"
	controls := []report.ControlResult{
		{ID: AuthEnforcementDisabled, Title: "Token authentication is enforced in the gateway config", Severity: "high", Domains: []string{DomainAccess}, Status: report.StatusPass, Reason: "auth.required is true",
			Evidence: []report.Evidence{{Kind: "config", Summary: "auth.required is true", Config: &report.ConfigLine{File: cfg, Line: 9, Key: "auth.required", Value: "true"}}}},
		{ID: UnsafeDefaultsNotObserved, Title: "Unsafe settings in force are observable", Severity: "medium", Domains: []string{DomainIdentity, DomainAccess}, Status: report.StatusPass, Reason: "no unsafe setting in force"},
		{ID: UnauthenticatedIngest, Title: "Ingest refuses unauthenticated requests", Severity: "high", Domains: []string{DomainAccess, DomainData}, Status: report.StatusPass, Reason: "POST /v1/ingest without credentials returned 401",
			Evidence: []report.Evidence{{Kind: "http", Summary: "unauthenticated POST refused", HTTP: &report.HTTPExchange{Method: "POST", URL: url, RequestHeaders: map[string]string{"X-Hardgate-Probe": "1"}, StatusCode: 401, ResponseHeaders: map[string]string{"Www-Authenticate": "Bearer"}, TLSVersion: "TLS 1.3", TLSVerified: true}}}},
		{ID: InsecureTransport, Title: "Ingest is served over verified TLS only", Severity: "high", Domains: []string{DomainIdentity, DomainData}, Status: report.StatusPass, Reason: "ingest served over TLS 1.3 with a verified chain",
			Evidence: []report.Evidence{{Kind: "tls", Summary: "verified handshake", TLS: &report.TLSEvidence{Address: "127.0.0.1:8443", Version: "TLS 1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", Accepted: []string{"TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256", "TLSv1.3 TLS_AES_128_GCM_SHA256"}}}}},
		{ID: ValidTokenAccepted, Title: "Ingest accepts a valid device token", Severity: "medium", Domains: []string{DomainData}, Status: report.StatusPass, Reason: "authenticated POST returned 202",
			Evidence: []report.Evidence{{Kind: "http", Summary: "authenticated POST accepted", HTTP: &report.HTTPExchange{Method: "POST", URL: url, RequestHeaders: map[string]string{"Authorization": "Bearer s3cr3t-token-value"}, StatusCode: 202, TLSVersion: "TLS 1.3", TLSVerified: true}}}},
		{ID: HealthEndpointAvailable, Title: "Health endpoint answers", Severity: "low", Domains: []string{DomainResil}, Status: report.StatusPass, Reason: "GET /healthz returned 200"},
		{ID: TLSModernProtocols, Title: "Only TLS 1.2 and later with modern suites are accepted", Severity: "high", Domains: []string{DomainIdentity}, Status: report.StatusPass, Reason: "only TLS 1.2 (AEAD suites) and TLS 1.3 accepted"},
		{ID: MQTTAnonymousAccessBlocked, Title: "MQTT broker refuses anonymous clients", Severity: "high", Domains: []string{DomainAccess}, Status: report.StatusNotApplicable, Reason: "no MQTT endpoint in the target"},
	}
	return &report.Result{
		SchemaVersion: report.SchemaVersion,
		Tool:          tool(),
		AuditID:       "audit-0002-after",
		StartedAt:     base.Add(72 * time.Hour),
		FinishedAt:    base.Add(72*time.Hour + 1200*time.Millisecond),
		Target: report.Target{
			Name:        TargetName,
			IngestURLs:  []string{url},
			HealthURL:   "https://127.0.0.1:8443/healthz",
			CAFile:      "ca.pem",
			TokenEnv:    "HARDGATE_TOKEN",
			TLSAddrs:    []string{"127.0.0.1:8443"},
			ConfigFiles: []report.ConfigFile{{Path: cfg, Kind: "ingestd", SHA256: "9b8a7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9"}},
		},
		Summary: report.Summary{
			Status:         report.AuditPass,
			Posture:        report.PostureGreen,
			RiskScore:      0,
			Headline:       "PASS: no findings; ingest requires a device token over verified HTTPS.",
			NextStep:       "Keep this result as the baseline and gate releases with hardgate audit --baseline.",
			SeverityCounts: map[string]int{"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0},
			Findings:       0,
			Controls:       report.ControlCounts{Total: 8, Pass: 7, Fail: 0, NotApplicable: 1},
			Domains: []report.DomainPosture{
				{Name: DomainAccess, Posture: report.PostureGreen, Controls: 4},
				{Name: DomainData, Posture: report.PostureGreen, Controls: 3},
				{Name: DomainIdentity, Posture: report.PostureGreen, Controls: 3},
				{Name: DomainResil, Posture: report.PostureGreen, Controls: 1},
			},
			PositiveControlRan: true,
			Notes:              []string{},
		},
		Controls: controls,
		Findings: []report.Finding{},
		Backlog:  []report.BacklogItem{},
	}
}
