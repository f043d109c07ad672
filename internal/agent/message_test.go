package agent

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func validJob(t *testing.T) []byte {
	t.Helper()
	j, err := NewJob("job-1", "hg-0123456789abcdef", "north", map[string]string{"site": "north"}, target("gw-1"),
		time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	data, err := EncodeJob(j)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// edit decodes data into a map, applies f and encodes it again.
func edit(t *testing.T, data []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDecodeJobRoundTripsTheTargetSpec(t *testing.T) {
	j, tg, err := DecodeJob(validJob(t))
	if err != nil {
		t.Fatal(err)
	}
	want := target("gw-1")
	if j.JobID != "job-1" || j.Site != "north" || tg.Name != want.Name || tg.Ingest.URLs[0] != want.Ingest.URLs[0] ||
		tg.Timeouts != want.Timeouts {
		t.Fatalf("decoded %+v / %+v, want the job's target spec back", j, tg)
	}
}

func TestDecodeJobRefusesBadInput(t *testing.T) {
	good := validJob(t)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"an empty message", nil, "parse job"},
		{"not JSON", []byte("job"), "parse job"},
		{"trailing data", append(append([]byte{}, good...), []byte(` {}`)...), "trailing data"},
		{"an unknown field", edit(t, good, func(m map[string]any) { m["token"] = "s3cret" }), "unknown field"},
		{"an inline secret in the target spec", edit(t, good, func(m map[string]any) {
			m["target"].(map[string]any)["ingest"].(map[string]any)["token"] = "s3cret"
		}), "ingest.token: unknown key"},
		{"no schema version", edit(t, good, func(m map[string]any) { delete(m, "schema_version") }), "schema_version"},
		{"a future major version", edit(t, good, func(m map[string]any) { m["schema_version"] = "2.0" }), "schema_version"},
		{"a site that is not a subject token", edit(t, good, func(m map[string]any) { m["site"] = "north.>" }), "site"},
		{"an empty job id", edit(t, good, func(m map[string]any) { m["job_id"] = "" }), "job_id"},
		{"a target that is not an object", edit(t, good, func(m map[string]any) { m["target"] = "gw" }), "target"},
		{"a target with a bad duration", edit(t, good, func(m map[string]any) {
			m["target"].(map[string]any)["timeouts"] = map[string]any{"audit": "soon"}
		}), "want a duration such as"},
		{"an oversize job", []byte(`{"x":"` + strings.Repeat("a", MaxJobBytes) + `"}`), "larger than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := DecodeJob(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
	_, _, err := DecodeJob(edit(t, good, func(m map[string]any) { m["schema_version"] = "2.0" }))
	if !errors.Is(err, ErrSchemaVersion) {
		t.Errorf("a future major version: %v, want ErrSchemaVersion", err)
	}
	if _, _, err := DecodeJob(edit(t, good, func(m map[string]any) { m["schema_version"] = "1.7" })); err != nil {
		t.Errorf("a later minor version: %v, want it read", err)
	}
}

func validResult(t *testing.T) []byte {
	t.Helper()
	rm := &ResultMsg{SchemaVersion: ResultSchemaVersion, JobID: "job-1", AuditID: "hg-1", Site: "north", Agent: "n1",
		AgentVersion: "test", Attempt: 1, Outcome: OutcomeAudited, Result: fakeResult("hg-1", "gw-1")}
	data, err := EncodeResult(rm)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDecodeResultRefusesBadInput(t *testing.T) {
	good := validResult(t)
	if _, err := DecodeResult(good); err != nil {
		t.Fatalf("a valid result message: %v", err)
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"not JSON", []byte("{"), "parse result message"},
		{"an unknown field", edit(t, good, func(m map[string]any) { m["extra"] = 1 }), "unknown field"},
		{"a foreign version", edit(t, good, func(m map[string]any) { m["schema_version"] = "0.1" }), "schema_version"},
		{"attempt zero", edit(t, good, func(m map[string]any) { m["attempt"] = 0 }), "attempt"},
		{"an unknown outcome", edit(t, good, func(m map[string]any) { m["outcome"] = "maybe" }), "outcome"},
		{"audited without a result", edit(t, good, func(m map[string]any) { delete(m, "result") }), "without a result"},
		{"a result of another audit", edit(t, good, func(m map[string]any) { m["audit_id"] = "hg-2" }), "is not the job's"},
		{"a result with a bad status", edit(t, good, func(m map[string]any) {
			m["result"].(map[string]any)["summary"].(map[string]any)["status"] = "GREAT"
		}), "summary.status"},
		{"an error with a result", edit(t, good, func(m map[string]any) { m["outcome"] = "error"; m["error"] = "x" }), "no result"},
		{"an agent name with a dot", edit(t, good, func(m map[string]any) { m["agent"] = "a.b" }), "agent"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeResult(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func FuzzDecodeJob(f *testing.F) {
	f.Add([]byte(`{"schema_version":"1.0","job_id":"j","audit_id":"a","site":"s","target":{"name":"x"},"created_at":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"target":{"ingest":{"urls":[1]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		j, tg, err := DecodeJob(data)
		if err == nil && (j == nil || tg == nil || !ValidName(j.Site) || !ValidName(j.JobID)) {
			t.Fatalf("accepted %q as job %+v", data, j)
		}
	})
}

func FuzzDecodeResult(f *testing.F) {
	f.Add([]byte(`{"schema_version":"1.0","job_id":"j","audit_id":"a","site":"s","agent":"n","attempt":1,"outcome":"error","error":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rm, err := DecodeResult(data)
		if err == nil && (rm.Attempt < 1 || (rm.Outcome == OutcomeAudited && rm.Result.AuditID != rm.AuditID)) {
			t.Fatalf("accepted %q as %+v", data, rm)
		}
	})
}

func FuzzDecodeDeadLetter(f *testing.F) {
	f.Add([]byte(`{"schema_version":"1.0","job_id":"j","site":"s","attempts":3,"reason":"r","agent":"n","at":"2026-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = DecodeDeadLetter(data)
	})
}
