// Package result is the audit result schema: the versioned JSON document
// that every other part reads and writes (types, strict Decode, Encode),
// the order of severities, and the escaping helpers that renderers share.
// It is a leaf: it imports nothing of hardgate.
package result

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// SchemaVersion is the version of the result document written by this build.
// Readers accept results whose major version matches. 1.1 added waivers
// (the waived status, the waived findings, the waivers section and their
// summary counts), target labels and the EN 18031-1 references.
const SchemaVersion = "1.1"

// MaxResultBytes caps how much of a result file is read.
const MaxResultBytes = 64 << 20

// Status of one control.
type Status string

// Control statuses.
const (
	StatusPass          Status = "pass"
	StatusFail          Status = "fail"
	StatusNotApplicable Status = "not_applicable"
	StatusError         Status = "error"
	// StatusWaived is a failed control whose finding a waiver accepts as a
	// known risk until its expiry: it keeps its evidence and its waiver, and
	// does not count toward status, posture or risk score.
	StatusWaived Status = "waived"
)

// Overall audit statuses.
const (
	AuditPass         = "PASS"
	AuditFail         = "FAIL"
	AuditInconclusive = "INCONCLUSIVE"
)

// Postures.
const (
	PostureGreen = "green"
	PostureAmber = "amber"
	PostureRed   = "red"
	// PostureUnknown is used when errors kept the audit from deciding and no
	// finding already makes the posture red or amber.
	PostureUnknown = "unknown"
)

// Result is one audit of one target.
type Result struct {
	SchemaVersion string          `json:"schema_version"`
	Tool          Tool            `json:"tool"`
	AuditID       string          `json:"audit_id"`
	StartedAt     time.Time       `json:"started_at"`
	FinishedAt    time.Time       `json:"finished_at"`
	Target        Target          `json:"target"`
	Summary       Summary         `json:"summary"`
	Controls      []ControlResult `json:"controls"`
	Findings      []Finding       `json:"findings"`
	Backlog       []BacklogItem   `json:"backlog"`
	// Waived are the failed controls that a waiver accepts, each with its
	// waiver; they are not findings and have no backlog item.
	Waived []Finding `json:"waived"`
	// Waivers says what applying a waivers file found: the waivers for this
	// target that expired or matched nothing. Absent when none was applied.
	Waivers *WaiverReport `json:"waivers,omitempty"`
}

// Tool names the program that wrote the result.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Target is what was audited.
type Target struct {
	Name        string       `json:"name"`
	IngestURLs  []string     `json:"ingest_urls"`
	HealthURL   string       `json:"health_url,omitempty"`
	CAFile      string       `json:"ca_file,omitempty"`
	TokenEnv    string       `json:"token_env,omitempty"`
	TLSAddrs    []string     `json:"tls_addrs,omitempty"`
	MQTTURLs    []string     `json:"mqtt_urls,omitempty"`
	ConfigFiles []ConfigFile `json:"config_files"`
	// Labels are the target's labels (site, model, ...), as a fleet file
	// gives them; waivers select targets by name or by labels.
	Labels map[string]string `json:"labels,omitempty"`
}

// ConfigFile is a gateway config file that was read, with its digest.
type ConfigFile struct {
	Path   string `json:"path"`
	Kind   string `json:"kind"`
	SHA256 string `json:"sha256"`
}

// Summary is the executive view of a result.
type Summary struct {
	Status    string `json:"status"`
	Posture   string `json:"posture"`
	RiskScore int    `json:"risk_score"`
	// Headline is one sentence a manager reads first.
	Headline string `json:"headline"`
	// NextStep is the recommended next action.
	NextStep string `json:"next_step"`
	// SeverityCounts counts findings by severity; every severity is present.
	SeverityCounts map[string]int  `json:"severity_counts"`
	Findings       int             `json:"findings"`
	Controls       ControlCounts   `json:"controls"`
	Domains        []DomainPosture `json:"domains"`
	// PositiveControlRan is false when no valid credential was given, so the
	// check that the gateway accepts legitimate data did not run.
	PositiveControlRan bool `json:"positive_control_ran"`
	// Notes are caveats a reader must know (a control that could not run).
	Notes []string `json:"notes"`
	// Waivers counts the waived findings and the expired and stale waivers.
	Waivers WaiverCounts `json:"waivers"`
}

// ControlCounts counts controls by status.
type ControlCounts struct {
	Total         int `json:"total"`
	Pass          int `json:"pass"`
	Fail          int `json:"fail"`
	NotApplicable int `json:"not_applicable"`
	Error         int `json:"error"`
	Waived        int `json:"waived"`
}

// DomainPosture is the posture of one control domain.
type DomainPosture struct {
	Name     string `json:"name"`
	Posture  string `json:"posture"`
	Findings int    `json:"findings"`
	Controls int    `json:"controls"`
	Errors   int    `json:"errors"`
}

// ControlResult is the verdict on one control.
type ControlResult struct {
	ID       string     `json:"id"`
	Title    string     `json:"title"`
	Severity string     `json:"severity"`
	Domains  []string   `json:"domains"`
	Status   Status     `json:"status"`
	Reason   string     `json:"reason"`
	Evidence []Evidence `json:"evidence"`
	// Waiver is the waiver that accepts this failed control (status waived).
	Waiver *Waiver `json:"waiver,omitempty"`
}

// Finding is a failed control with everything needed to fix it.
type Finding struct {
	ID string `json:"id"`
	// Title is the control's title: the expected (passing) state that the
	// gateway does not meet; Reason says what was observed instead.
	Title        string       `json:"title"`
	Severity     string       `json:"severity"`
	Domains      []string     `json:"domains"`
	Reason       string       `json:"reason"`
	Risk         string       `json:"risk"`
	Evidence     []Evidence   `json:"evidence"`
	Remediation  Remediation  `json:"remediation"`
	Verification Verification `json:"verification"`
	References   References   `json:"references"`
	// Waiver is set on the entries of Result.Waived.
	Waiver *Waiver `json:"waiver,omitempty"`
}

// Remediation says how to fix a finding.
type Remediation struct {
	Text         string `json:"text" yaml:"text"`
	ConfigChange string `json:"config_change,omitempty" yaml:"config_change"`
}

// Verification says how to prove the fix.
type Verification struct {
	Request  string `json:"request" yaml:"request"`
	Expected string `json:"expected" yaml:"expected"`
}

// References maps a control to framework provisions.
type References struct {
	ETSIEN303645 []string `json:"etsi_en_303_645" yaml:"etsi_en_303_645"`
	OWASPIoT2018 []string `json:"owasp_iot_2018" yaml:"owasp_iot_2018"`
	IEC62443_4_2 []string `json:"iec_62443_4_2" yaml:"iec_62443_4_2"`
	NISTIR8259A  []string `json:"nist_ir_8259a" yaml:"nist_ir_8259a"`
	// EN18031_1 are EN 18031-1 requirement ids (ACM-2, SCM-3, CRY-1, ...),
	// where one applies.
	EN18031_1 []string `json:"en_18031_1,omitempty" yaml:"en_18031_1"`
}

// BacklogItem is one ticket-ready remediation row.
type BacklogItem struct {
	ID             string `json:"id"`
	ControlID      string `json:"control_id"`
	Title          string `json:"title"`
	Priority       string `json:"priority"`
	Severity       string `json:"severity"`
	Domain         string `json:"domain"`
	Owner          string `json:"owner"`
	AcceptanceTest string `json:"acceptance_test"`
}

// Evidence is one observation behind a verdict. Exactly one of the typed
// parts is set, named by Kind.
type Evidence struct {
	Kind    string        `json:"kind"` // http, tcp, tls, config, mqtt, note
	Summary string        `json:"summary"`
	HTTP    *HTTPExchange `json:"http,omitempty"`
	Config  *ConfigLine   `json:"config,omitempty"`
	TLS     *TLSEvidence  `json:"tls,omitempty"`
	MQTT    *MQTTExchange `json:"mqtt,omitempty"`
	TCP     *TCPDial      `json:"tcp,omitempty"`
}

// HTTPExchange is one request and its response (or the error instead).
type HTTPExchange struct {
	Method          string            `json:"method"`
	URL             string            `json:"url"`
	RequestHeaders  map[string]string `json:"request_headers"`
	RequestBody     string            `json:"request_body,omitempty"`
	StatusCode      int               `json:"status_code,omitempty"`
	ResponseHeaders map[string]string `json:"response_headers,omitempty"`
	BodyExcerpt     string            `json:"body_excerpt,omitempty"`
	BodyTruncated   bool              `json:"body_truncated,omitempty"`
	TLSVersion      string            `json:"tls_version,omitempty"`
	TLSVerified     bool              `json:"tls_verified,omitempty"`
	Error           string            `json:"error,omitempty"`
}

// ConfigLine is a setting read from a config file.
type ConfigLine struct {
	File  string `json:"file"`
	Line  int    `json:"line,omitempty"`
	Key   string `json:"key"`
	Value string `json:"value"`
}

// TCPDial records a connection attempt.
type TCPDial struct {
	Address   string `json:"address"`
	Connected bool   `json:"connected"`
	Error     string `json:"error,omitempty"`
}

// TLSEvidence records what a TLS handshake or scan saw.
type TLSEvidence struct {
	Address      string     `json:"address"`
	Version      string     `json:"version,omitempty"`
	CipherSuite  string     `json:"cipher_suite,omitempty"`
	Accepted     []string   `json:"accepted,omitempty"` // "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256"
	Certificates []CertInfo `json:"certificates,omitempty"`
	VerifyError  string     `json:"verify_error,omitempty"`
	// ServerOrder says per version whose cipher suite order wins:
	// "TLSv1.2: server" (the server enforces its own) or "TLSv1.2: client".
	ServerOrder []string `json:"server_order,omitempty"`
	// Groups lists per version the key exchange groups the server accepts,
	// with their size: "TLSv1.3: x25519 (253), secp256r1 (256)".
	Groups []string `json:"groups,omitempty"`
	Detail string   `json:"detail,omitempty"`
}

// CertInfo summarises one certificate of a chain.
type CertInfo struct {
	Subject            string    `json:"subject"`
	Issuer             string    `json:"issuer"`
	NotBefore          time.Time `json:"not_before"`
	NotAfter           time.Time `json:"not_after"`
	DNSNames           []string  `json:"dns_names,omitempty"`
	IPAddresses        []string  `json:"ip_addresses,omitempty"`
	KeyType            string    `json:"key_type"`
	KeyBits            int       `json:"key_bits"`
	SignatureAlgorithm string    `json:"signature_algorithm"`
	SHA256             string    `json:"sha256"`
}

// MQTTExchange records one MQTT probe step.
type MQTTExchange struct {
	Broker     string `json:"broker"`
	Action     string `json:"action"` // connect, subscribe, receive
	Username   string `json:"username,omitempty"`
	Topic      string `json:"topic,omitempty"`
	ReasonCode int    `json:"reason_code"`
	Outcome    string `json:"outcome"`
	Error      string `json:"error,omitempty"`
}

// ErrSchemaVersion is returned for a result whose schema version this build cannot read.
var ErrSchemaVersion = errors.New("unsupported result schema version")

// Decode reads a result document strictly: unknown fields, trailing data,
// a missing or foreign schema version are errors.
func Decode(r io.Reader) (*Result, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxResultBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	if len(data) > MaxResultBytes {
		return nil, fmt.Errorf("result is larger than %d bytes", MaxResultBytes)
	}
	var probe struct {
		SchemaVersion *string `json:"schema_version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("parse result: %w", err)
	}
	if probe.SchemaVersion == nil {
		return nil, fmt.Errorf("%w: schema_version is missing (is this a hardgate result?)", ErrSchemaVersion)
	}
	if major(*probe.SchemaVersion) != major(SchemaVersion) {
		return nil, fmt.Errorf("%w: %q (this build reads %s.x)", ErrSchemaVersion, *probe.SchemaVersion, major(SchemaVersion))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var res Result
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("parse result: %w", err)
	}
	if dec.More() {
		return nil, errors.New("parse result: trailing data after the result document")
	}
	if res.Summary.Status != AuditPass && res.Summary.Status != AuditFail && res.Summary.Status != AuditInconclusive {
		return nil, fmt.Errorf("parse result: summary.status %q is not PASS, FAIL or INCONCLUSIVE", res.Summary.Status)
	}
	return &res, nil
}

func major(v string) string {
	for i, c := range v {
		if c == '.' {
			return v[:i]
		}
	}
	return v
}

// Encode writes the result as indented JSON with a trailing newline. C1
// controls and bidi formatting characters in strings are written as
// \uXXXX escapes (EscapeJSON): the same values, safe to print.
func Encode(w io.Writer, res *Result) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		return err
	}
	_, err := w.Write(EscapeJSON(buf.Bytes()))
	return err
}
