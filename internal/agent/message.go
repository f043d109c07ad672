package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

// Message schema versions written by this build (docs/agent-job.schema.json,
// docs/agent-result.schema.json). A reader accepts any minor version of
// its major.
const (
	JobSchemaVersion    = "1.0"
	ResultSchemaVersion = "1.0"
)

// Size caps of the messages.
const (
	MaxJobBytes    = 256 << 10
	MaxResultBytes = 8 << 20
)

// Outcomes of a job (ResultMsg.Outcome).
const (
	// OutcomeAudited: the audit ran; Result holds it.
	OutcomeAudited = "audited"
	// OutcomeError: the audit could not run (invalid spec, missing secret
	// on the agent); Error says why. Retrying would not help.
	OutcomeError = "error"
)

// ErrSchemaVersion is returned for a message whose schema version this
// build cannot read.
var ErrSchemaVersion = errors.New("unsupported agent message schema version")

// Job is one audit for a site's agents. It carries the target spec, which
// names secrets (token_env, password_env) and files (ca_file, config_file)
// the agent resolves on its own host: no secret ever travels in a job.
type Job struct {
	SchemaVersion string `json:"schema_version"`
	// JobID is unique per scheduled audit; JetStream deduplicates on it.
	JobID string `json:"job_id"`
	// AuditID is the id the result gets: a redelivered job yields a
	// result with the same id, so history stores it once.
	AuditID string `json:"audit_id"`
	// Site is the site whose agents run the job.
	Site string `json:"site"`
	// Labels are the target's fleet labels (informational).
	Labels map[string]string `json:"labels,omitempty"`
	// Target is the target spec (the spec file's fields, as JSON).
	Target json.RawMessage `json:"target"`
	// CreatedAt is when the job was scheduled.
	CreatedAt time.Time `json:"created_at"`
}

// ResultMsg is an agent's answer to a job.
type ResultMsg struct {
	SchemaVersion string `json:"schema_version"`
	JobID         string `json:"job_id"`
	AuditID       string `json:"audit_id"`
	Site          string `json:"site"`
	// Agent is the name of the agent that ran the job.
	Agent string `json:"agent"`
	// AgentVersion is the agent's hardgate version.
	AgentVersion string `json:"agent_version"`
	// Attempt is the job's delivery number (1 for the first).
	Attempt int `json:"attempt"`
	// Outcome is audited or error.
	Outcome string `json:"outcome"`
	// Error says why the audit could not run (outcome error).
	Error string `json:"error,omitempty"`
	// Result is the audit's result (outcome audited).
	Result     *result.Result `json:"result,omitempty"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt time.Time      `json:"finished_at"`
}

// DeadLetter is a job given up on, published to the dead-letter subject.
type DeadLetter struct {
	SchemaVersion string `json:"schema_version"`
	JobID         string `json:"job_id"`
	AuditID       string `json:"audit_id,omitempty"`
	Site          string `json:"site"`
	Target        string `json:"target,omitempty"`
	// Attempts is how many deliveries the job had.
	Attempts int `json:"attempts"`
	// Reason says why (too many attempts, undecodable job).
	Reason string `json:"reason"`
	// Agent is the agent that dead-lettered it.
	Agent string    `json:"agent"`
	At    time.Time `json:"at"`
}

// namePattern is what site and agent names, job and audit ids may hold:
// one NATS subject token, safe in a KV key and a file name.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// ValidName reports whether s is a valid site or agent name.
func ValidName(s string) bool { return namePattern.MatchString(s) }

func checkName(field, s string) error {
	if !ValidName(s) {
		return fmt.Errorf("%s %q: want 1-64 of A-Z a-z 0-9 _ - (not starting with _ or -)", field, s)
	}
	return nil
}

// NewJob builds the job auditing t at site.
func NewJob(jobID, auditID, site string, labels map[string]string, t *spec.Target, now time.Time) (*Job, error) {
	raw, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("encode target spec: %w", err)
	}
	j := &Job{SchemaVersion: JobSchemaVersion, JobID: jobID, AuditID: auditID, Site: site, Labels: labels,
		Target: raw, CreatedAt: now.UTC()}
	if _, err := j.validate(); err != nil {
		return nil, err
	}
	return j, nil
}

// Spec parses the job's target spec with the ordinary strict spec parser
// (JSON is YAML): unknown fields are errors, so a job cannot smuggle an
// inline secret the spec has no field for.
func (j *Job) Spec() (*spec.Target, error) {
	t, err := spec.Parse(bytes.NewReader(j.Target))
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", j.JobID, err)
	}
	return t, nil
}

func (j *Job) validate() (*spec.Target, error) {
	var errs []error
	for _, c := range [][2]string{{"job_id", j.JobID}, {"audit_id", j.AuditID}, {"site", j.Site}} {
		if err := checkName(c[0], c[1]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(bytes.TrimSpace(j.Target)) == 0 || bytes.TrimSpace(j.Target)[0] != '{' {
		errs = append(errs, errors.New("target: want a target spec object"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return j.Spec()
}

// EncodeJob encodes j.
func EncodeJob(j *Job) ([]byte, error) { return json.Marshal(j) }

// DecodeJob reads a job strictly: size cap, known major version, unknown
// fields rejected, names checked, the target spec parsed strictly. It
// returns the job and its parsed spec.
func DecodeJob(data []byte) (*Job, *spec.Target, error) {
	var j Job
	if err := decodeStrict(data, MaxJobBytes, "job", &j); err != nil {
		return nil, nil, err
	}
	if err := checkVersion("job", j.SchemaVersion, JobSchemaVersion); err != nil {
		return nil, nil, err
	}
	t, err := j.validate()
	if err != nil {
		return nil, nil, fmt.Errorf("invalid job: %w", err)
	}
	return &j, t, nil
}

// EncodeResult encodes r.
func EncodeResult(r *ResultMsg) ([]byte, error) { return json.Marshal(r) }

// DecodeResult reads a result message strictly; an audited result's audit
// id must be the job's.
func DecodeResult(data []byte) (*ResultMsg, error) {
	var r ResultMsg
	if err := decodeStrict(data, MaxResultBytes, "result message", &r); err != nil {
		return nil, err
	}
	if err := checkVersion("result message", r.SchemaVersion, ResultSchemaVersion); err != nil {
		return nil, err
	}
	var errs []error
	for _, c := range [][2]string{{"job_id", r.JobID}, {"audit_id", r.AuditID}, {"site", r.Site}, {"agent", r.Agent}} {
		if err := checkName(c[0], c[1]); err != nil {
			errs = append(errs, err)
		}
	}
	if r.Attempt < 1 {
		errs = append(errs, fmt.Errorf("attempt %d: want 1 or more", r.Attempt))
	}
	switch r.Outcome {
	case OutcomeAudited:
		if r.Result == nil {
			errs = append(errs, errors.New("outcome audited without a result"))
		} else if err := checkEmbedded(r.Result, r.AuditID); err != nil {
			errs = append(errs, err)
		}
	case OutcomeError:
		if r.Result != nil || r.Error == "" {
			errs = append(errs, errors.New("outcome error wants an error and no result"))
		}
	default:
		errs = append(errs, fmt.Errorf("outcome %q: want audited or error", r.Outcome))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("invalid result message: %w", err)
	}
	return &r, nil
}

// checkEmbedded re-reads the embedded result with result.Decode's strict
// checks and compares its audit id with the message's.
func checkEmbedded(res *result.Result, auditID string) error {
	data, err := json.Marshal(res)
	if err != nil {
		return err
	}
	if _, err := result.Decode(bytes.NewReader(data)); err != nil {
		return fmt.Errorf("result: %w", err)
	}
	if res.AuditID != auditID {
		return fmt.Errorf("result.audit_id %q is not the job's %q", res.AuditID, auditID)
	}
	return nil
}

// EncodeDeadLetter encodes d.
func EncodeDeadLetter(d *DeadLetter) ([]byte, error) { return json.Marshal(d) }

// DecodeDeadLetter reads a dead letter strictly.
func DecodeDeadLetter(data []byte) (*DeadLetter, error) {
	var d DeadLetter
	if err := decodeStrict(data, MaxJobBytes, "dead letter", &d); err != nil {
		return nil, err
	}
	if err := checkVersion("dead letter", d.SchemaVersion, JobSchemaVersion); err != nil {
		return nil, err
	}
	return &d, nil
}

func decodeStrict(data []byte, limit int, what string, v any) error {
	if len(data) > limit {
		return fmt.Errorf("%s is larger than %d bytes", what, limit)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("parse %s: %w", what, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("parse %s: trailing data", what)
	}
	return nil
}

func checkVersion(what, got, want string) error {
	if got == "" || strings.SplitN(got, ".", 2)[0] != strings.SplitN(want, ".", 2)[0] {
		return fmt.Errorf("%w: %s schema_version %q (this build reads %s)", ErrSchemaVersion, what, got, want)
	}
	return nil
}
