package result

import (
	"bytes"
	"strings"
	"testing"
)

const minimalFleet = `{"schema_version":"1.0","kind":"hardgate.fleet","tool":{"name":"hardgate","version":"t"},"fleet_file":"f.yaml",
"selectors":[],"parallel":1,"started_at":"2026-11-25T09:00:00Z","finished_at":"2026-11-25T09:00:01Z","duration_ms":1000,
"status":"PASS","posture":"green","totals":{"targets":1,"statuses":{"pass":1},"postures":{"green":1},"severity_counts":{},
"findings":0,"risk_score":0,"max_risk_score":0},"top_failing_controls":[],
"targets":[{"name":"gw-1","labels":{},"status":"pass","risk_score":0,"severity_counts":{},"findings":0,"failing_controls":[],"undecided_controls":[],"duration_ms":5}]}`

func TestDecodeFleetReadsWhatEncodeFleetWrote(t *testing.T) {
	f, err := DecodeFleet(strings.NewReader(minimalFleet))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := EncodeFleet(&buf, f); err != nil {
		t.Fatal(err)
	}
	back, err := DecodeFleet(&buf)
	if err != nil || back.Targets[0].Name != "gw-1" || back.Status != AuditPass {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	if !IsFleetDocument([]byte(minimalFleet)) || IsFleetDocument([]byte(`{"schema_version":"1.0"}`)) {
		t.Error("IsFleetDocument does not tell a fleet summary from a result")
	}
}

func TestDecodeFleetRejectsBadDocuments(t *testing.T) {
	tests := []struct{ name, doc, wantErr string }{
		{"a result is not a fleet summary", `{"schema_version":"1.0","audit_id":"x"}`, `kind "" is not "hardgate.fleet"`},
		{"another major version is refused", strings.Replace(minimalFleet, `"1.0"`, `"2.0"`, 1), "fleet summary version"},
		{"a missing version is refused", strings.Replace(minimalFleet, `"schema_version":"1.0",`, "", 1), "version missing"},
		{"an unknown field is refused", strings.Replace(minimalFleet, `"parallel":1`, `"parallel":1,"extra":2`, 1), "unknown field"},
		{"an unknown fleet status is refused", strings.Replace(minimalFleet, `"status":"PASS"`, `"status":"OK"`, 1), `status "OK"`},
		{"an unknown target status is refused", strings.Replace(minimalFleet, `"status":"pass"`, `"status":"passed"`, 1), `targets[0] (gw-1): status "passed"`},
		{"trailing data is refused", minimalFleet + "{}", "after top-level value"},
		{"truncated JSON is refused", minimalFleet[:100], "parse fleet summary"},
		{"an oversize document is refused", strings.Repeat(" ", MaxFleetBytes+1), "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeFleet(strings.NewReader(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("DecodeFleet error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzDecodeFleet(f *testing.F) {
	f.Add([]byte(minimalFleet))
	f.Add([]byte(`{"kind":"hardgate.fleet","schema_version":"1.9","status":"FAIL","targets":[{"name":"x","status":"error"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, err := DecodeFleet(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := EncodeFleet(&buf, fl); err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeFleet(&buf); err != nil {
			t.Fatalf("a decoded fleet summary does not read back: %v", err)
		}
	})
}
