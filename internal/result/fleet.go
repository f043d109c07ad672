package result

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// FleetSchemaVersion is the version of the fleet summary (fleet.json)
// written by this build; readers accept the same major version. The
// schema is docs/fleet.schema.json.
const FleetSchemaVersion = "1.1"

// FleetKind marks a fleet summary, so a reader tells it from a result.
const FleetKind = "hardgate.fleet"

// MaxFleetBytes caps how much of a fleet summary is read.
const MaxFleetBytes = 64 << 20

// Target statuses in a fleet. An audited target has the status of its
// result (pass, fail, inconclusive); error means the audit could not run
// (a token variable unset, a CA file unreadable), cancelled that it was
// stopped by an interrupt or the fleet deadline, skipped that it never
// started. Only pass is a pass.
const (
	FleetPass         = "pass"
	FleetFail         = "fail"
	FleetInconclusive = "inconclusive"
	FleetError        = "error"
	FleetCancelled    = "cancelled"
	FleetSkipped      = "skipped"
)

// FleetStatuses lists the target statuses, worst first.
var FleetStatuses = []string{FleetFail, FleetError, FleetInconclusive, FleetCancelled, FleetSkipped, FleetPass}

// Fleet is the summary of one fleet audit: fleet.json.
type Fleet struct {
	SchemaVersion string    `json:"schema_version"`
	Kind          string    `json:"kind"`
	Tool          Tool      `json:"tool"`
	FleetFile     string    `json:"fleet_file"`
	Selectors     []string  `json:"selectors"`
	Parallel      int       `json:"parallel"`
	StartedAt     time.Time `json:"started_at"`
	FinishedAt    time.Time `json:"finished_at"`
	DurationMS    int64     `json:"duration_ms"`
	// Interrupted is "interrupt" or "deadline" when the run stopped early;
	// the targets it did not finish are cancelled or skipped.
	Interrupted string `json:"interrupted,omitempty"`
	// Status is FAIL when any target fails, else INCONCLUSIVE when any is
	// not a pass, else PASS.
	Status string `json:"status"`
	// Posture is the worst posture of the fleet: red, amber, unknown (a
	// target undecided), else green.
	Posture            string         `json:"posture"`
	Totals             FleetTotals    `json:"totals"`
	TopFailingControls []FleetControl `json:"top_failing_controls"`
	// Targets are sorted by name.
	Targets []FleetTarget `json:"targets"`
	// Waivers is what the waivers file (--waivers) did across the fleet;
	// absent when none was given (schema 1.1).
	Waivers *FleetWaivers `json:"waivers,omitempty"`
}

// FleetWaivers is what one waivers file did across a fleet, each waiver
// reported once however many targets it selects.
type FleetWaivers struct {
	// File is the waivers file as given to --waivers.
	File string `json:"file"`
	// Count is the number of waivers in the file.
	Count int `json:"count"`
	// Waived is the number of waived findings over every target.
	Waived int `json:"waived"`
	// Expired are the waivers whose last day had passed when the run
	// started: ignored, so what they covered counts again; each with the
	// targets it selects.
	Expired []FleetExpiredWaiver `json:"expired"`
	// Stale are the unexpired waivers that waived nothing on any target.
	Stale []Waiver `json:"stale"`
}

// FleetExpiredWaiver is an expired waiver and the targets it selects.
type FleetExpiredWaiver struct {
	Waiver  Waiver   `json:"waiver"`
	Targets []string `json:"targets"`
}

// FleetTotals counts the fleet.
type FleetTotals struct {
	Targets int `json:"targets"`
	// Statuses counts targets by status; every status is present.
	Statuses map[string]int `json:"statuses"`
	// Postures counts audited targets by posture.
	Postures map[string]int `json:"postures"`
	// SeverityCounts sums the findings of every target by severity.
	SeverityCounts map[string]int `json:"severity_counts"`
	Findings       int            `json:"findings"`
	RiskScore      int            `json:"risk_score"`
	MaxRiskScore   int            `json:"max_risk_score"`
	// Waived sums the waived findings of every target (schema 1.1).
	Waived int `json:"waived,omitempty"`
}

// FleetControl is a control that fails on some targets.
type FleetControl struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Severity string `json:"severity"`
	// Targets is how many targets fail it; TargetNames lists them by name.
	Targets     int      `json:"targets"`
	TargetNames []string `json:"target_names"`
}

// FleetTarget is one gateway's line in the fleet summary.
type FleetTarget struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
	Status string            `json:"status"`
	// AuditID, Posture, RiskScore, SeverityCounts, Findings, Domains and
	// FailingControls come from the result (absent without one).
	AuditID        string         `json:"audit_id,omitempty"`
	Posture        string         `json:"posture,omitempty"`
	RiskScore      int            `json:"risk_score"`
	SeverityCounts map[string]int `json:"severity_counts"`
	Findings       int            `json:"findings"`
	// Waived counts the findings a waiver accepted (schema 1.1): not in
	// Findings, SeverityCounts or RiskScore.
	Waived int `json:"waived,omitempty"`
	// Domains maps each control domain to its posture.
	Domains map[string]string `json:"domains,omitempty"`
	// FailingControls are the ids of the failed controls, sorted;
	// UndecidedControls those that could not be decided.
	FailingControls   []string `json:"failing_controls"`
	UndecidedControls []string `json:"undecided_controls"`
	// ResultPath and HTMLPath are relative to fleet.json's folder.
	ResultPath string `json:"result_path,omitempty"`
	HTMLPath   string `json:"html_path,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
}

// DecodeFleet reads a fleet summary strictly: unknown fields, trailing
// data, another kind or a foreign major schema version are errors.
func DecodeFleet(r io.Reader) (*Fleet, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFleetBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read fleet summary: %w", err)
	}
	if len(data) > MaxFleetBytes {
		return nil, fmt.Errorf("fleet summary is larger than %d bytes", MaxFleetBytes)
	}
	var probe struct {
		SchemaVersion *string `json:"schema_version"`
		Kind          string  `json:"kind"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("parse fleet summary: %w", err)
	}
	if probe.Kind != FleetKind {
		return nil, fmt.Errorf("parse fleet summary: kind %q is not %q (is this a fleet.json?)", probe.Kind, FleetKind)
	}
	if probe.SchemaVersion == nil || major(*probe.SchemaVersion) != major(FleetSchemaVersion) {
		v := "missing"
		if probe.SchemaVersion != nil {
			v = fmt.Sprintf("%q", *probe.SchemaVersion)
		}
		return nil, fmt.Errorf("%w: fleet summary version %s (this build reads %s.x)", ErrSchemaVersion, v, major(FleetSchemaVersion))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f Fleet
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse fleet summary: %w", err)
	}
	if dec.More() {
		return nil, errors.New("parse fleet summary: trailing data after the document")
	}
	if f.Status != AuditPass && f.Status != AuditFail && f.Status != AuditInconclusive {
		return nil, fmt.Errorf("parse fleet summary: status %q is not PASS, FAIL or INCONCLUSIVE", f.Status)
	}
	for i, t := range f.Targets {
		if !isFleetStatus(t.Status) {
			return nil, fmt.Errorf("parse fleet summary: targets[%d] (%s): status %q is not one of %v", i, t.Name, t.Status, FleetStatuses)
		}
	}
	return &f, nil
}

func isFleetStatus(s string) bool {
	for _, v := range FleetStatuses {
		if s == v {
			return true
		}
	}
	return false
}

// IsFleetDocument reports whether data looks like a fleet summary (its
// kind), so a command taking either a result or a fleet.json can tell.
func IsFleetDocument(data []byte) bool {
	var probe struct {
		Kind string `json:"kind"`
	}
	return json.Unmarshal(data, &probe) == nil && probe.Kind == FleetKind
}

// EncodeFleet writes the fleet summary as indented JSON with a trailing newline.
func EncodeFleet(w io.Writer, f *Fleet) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(f)
}
