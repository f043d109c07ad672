package result_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
)

func encoded(t testing.TB, res *result.Result) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := result.Encode(&buf, res); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeRejectsBadInput(t *testing.T) {
	good := encoded(t, reporttest.WorkedExampleBefore())
	tests := []struct {
		name    string
		input   string
		want    string
		wantErr error
	}{
		{"a truncated document", string(good[:len(good)/2]), "parse result", nil},
		{"an empty file", "", "parse result", nil},
		{"a foreign schema version", strings.Replace(string(good), `"schema_version": "`+result.SchemaVersion+`"`, `"schema_version": "2.0"`, 1), `"2.0"`, result.ErrSchemaVersion},
		{"a document without a schema version", `{"audit_id":"x"}`, "schema_version is missing", result.ErrSchemaVersion},
		{"an unknown field", strings.Replace(string(good), `"audit_id"`, `"surprise": 1, "audit_id"`, 1), "unknown field", nil},
		{"trailing data", string(good) + "{}", "parse result", nil},
		{"a bad summary status", strings.Replace(string(good), `"status": "FAIL"`, `"status": "MAYBE"`, 1), "summary.status", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			_, err := result.Decode(strings.NewReader(tc.input))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
	t.Run("a valid document round-trips", func(t *testing.T) {
		res, err := result.Decode(bytes.NewReader(good))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(encoded(t, res), good) {
			t.Error("decode/encode changed the document")
		}
	})
}

func TestSeverityRank(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		a, b     string
		aIsFirst bool
	}{
		{"critical sorts before high", "critical", "high", true},
		{"high sorts before medium", "high", "medium", true},
		{"low sorts before info", "low", "info", true},
		{"case does not matter", "HIGH", "medium", true},
		{"an unknown severity sorts after info", "info", "bogus", true},
		{"an unknown severity never sorts before a known one", "bogus", "critical", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := result.SeverityRank(tt.a) < result.SeverityRank(tt.b); got != tt.aIsFirst {
				t.Errorf("rank(%q)=%d rank(%q)=%d", tt.a, result.SeverityRank(tt.a), tt.b, result.SeverityRank(tt.b))
			}
		})
	}
	if result.SeverityRank("bogus") <= result.SeverityRank("high") {
		t.Error("an unknown severity must not rank as high or above (it would turn a posture red)")
	}
}
