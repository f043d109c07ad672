package payload

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"
)

func gzipped(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestParseAcceptsEveryShape(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    string
		records int
	}{
		{"a single object becomes one line", `{"t": 21.5, "id": "a"}`, "{\"t\":21.5,\"id\":\"a\"}\n", 1},
		{"an array of objects becomes one line per element", ` [ {"a":1} , {"b":[1, 2]} ] `, "{\"a\":1}\n{\"b\":[1,2]}\n", 2},
		{"NDJSON keeps its lines", "{\"a\":1}\n{\"a\":2}\n", "{\"a\":1}\n{\"a\":2}\n", 2},
		{"NDJSON with CRLF and blank lines is accepted", "{\"a\":1}\r\n\r\n{\"a\":2}", "{\"a\":1}\n{\"a\":2}\n", 2},
		{"nested objects are compacted", "{\"a\": {\"b\": {\"c\": [true, null]}}}", "{\"a\":{\"b\":{\"c\":[true,null]}}}\n", 1},
		{"non-ASCII text is kept", `{"place":"Zürich"}`, "{\"place\":\"Zürich\"}\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Parse(strings.NewReader(tt.body), "", 1<<20)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if string(res.NDJSON) != tt.want || res.Records != tt.records {
				t.Fatalf("got %q (%d records), want %q (%d)", res.NDJSON, res.Records, tt.want, tt.records)
			}
		})
	}
}

func TestParseRejectsBadInputWithPosition(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		problem string
		line    int
		column  int
		record  int
	}{
		{"an empty body is rejected", "  \n", "body is empty", 0, 0, 0},
		{"a bare number is rejected", "42", "must start with", 1, 1, 0},
		{"a string at the top is rejected", `"x"`, "must start with", 1, 1, 0},
		{"a syntax error names line and column", "{\"a\":1}\n{\"a\":}\n", "invalid JSON", 2, 6, 2},
		{"a truncated object is rejected", `{"a":1`, "unexpected end", 1, 7, 1},
		{"a number in an array is rejected", `[{"a":1}, 2]`, "element of the array must be a JSON object", 1, 11, 2},
		{"an empty array is rejected", `  []`, "holds no records", 1, 3, 0},
		{"data after the array is rejected", `[{"a":1}] x`, "after the array", 1, 11, 0},
		{"two objects on one line are rejected", `{"a":1} {"a":2}`, "separated by a newline", 1, 9, 2},
		{"an array line inside NDJSON is rejected", "{\"a\":1}\n[1]\n", "must be a JSON object", 2, 1, 2},
		{"invalid UTF-8 is rejected", "{\"a\":\"\xff\"}", "not valid UTF-8", 1, 7, 0},
		{"an unterminated array is rejected", `[{"a":1}`, "invalid JSON", 1, 9, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.body), "", 1<<20)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error = %v, want *Error", err)
			}
			if !strings.Contains(pe.Problem, tt.problem) {
				t.Errorf("problem %q does not contain %q", pe.Problem, tt.problem)
			}
			if pe.Line != tt.line || pe.Column != tt.column || pe.Record != tt.record {
				t.Errorf("position = line %d column %d record %d, want %d %d %d (%v)",
					pe.Line, pe.Column, pe.Record, tt.line, tt.column, tt.record, pe)
			}
		})
	}
}

func TestParseEnforcesTheCap(t *testing.T) {
	big := `{"pad":"` + strings.Repeat("x", 2000) + `"}`
	tests := []struct {
		name     string
		body     []byte
		encoding string
		max      int64
		wantErr  error
	}{
		{"a body at the cap is accepted", []byte(`{"a":1}`), "", 7, nil},
		{"a body one byte over the cap is rejected", []byte(`{"a":1} `), "", 7, ErrTooLarge},
		{"a small gzip body that inflates past the cap is rejected", gzipped(t, big), "gzip", 1000, ErrTooLarge},
		{"a gzip body within the cap is accepted", gzipped(t, big), "gzip", 4096, nil},
		{"an unknown encoding is rejected", []byte(`{}`), "br", 100, ErrUnsupportedEncoding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(bytes.NewReader(tt.body), tt.encoding, tt.max)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestParseGzip(t *testing.T) {
	tests := []struct {
		name    string
		body    []byte
		wantErr bool
	}{
		{"a gzip NDJSON body is decompressed", gzipped(t, "{\"a\":1}\n{\"b\":2}\n"), false},
		{"a body that is not gzip is rejected", []byte(`{"a":1}`), true},
		{"a truncated gzip stream is rejected", gzipped(t, `{"a":1}`)[:15], true},
		{"an empty gzip body is rejected", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Parse(bytes.NewReader(tt.body), "gzip", 1<<20)
			if tt.wantErr {
				var pe *Error
				if !errors.As(err, &pe) {
					t.Fatalf("Parse error = %v, want *Error", err)
				}
				return
			}
			if err != nil || res.Records != 2 {
				t.Fatalf("Parse = %d records, %v", res.Records, err)
			}
		})
	}
}

func TestParseReturnsReaderErrorsWrapped(t *testing.T) {
	boom := errors.New("limit reached")
	_, err := Parse(iotest.ErrReader(boom), "", 100)
	if !errors.Is(err, boom) {
		t.Fatalf("Parse error = %v, want it to wrap %v", err, boom)
	}
	var pe *Error
	if errors.As(err, &pe) {
		t.Fatalf("a reader error must not look like a payload problem: %v", err)
	}
}

func TestErrorMessageNamesPosition(t *testing.T) {
	e := &Error{Problem: "invalid JSON: x", Offset: 12, Line: 2, Column: 3, Record: 2}
	want := "invalid JSON: x at line 2, column 3 (byte offset 12) in record 2"
	if e.Error() != want {
		t.Fatalf("got %q, want %q", e.Error(), want)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"a":1}`, `[{"a":1},{"b":2}]`, "{\"a\":1}\n{\"b\":2}\n", `[]`, `{"a":`, "\xff", `[1]`,
		`{"a":"\u00e9"}`, "{}\r\n{}", `[{"a":[{"b":{}}]}] `,
	} {
		f.Add([]byte(s), false)
	}
	f.Add(gzipped(f, `{"a":1}`), true)
	f.Fuzz(func(t *testing.T, data []byte, gz bool) {
		enc := ""
		if gz {
			enc = "gzip"
		}
		res, err := Parse(bytes.NewReader(data), enc, 1<<16)
		if err != nil {
			if res.NDJSON != nil || res.Records != 0 {
				t.Fatalf("error %v with a result", err)
			}
			return
		}
		lines := bytes.Split(bytes.TrimSuffix(res.NDJSON, []byte("\n")), []byte("\n"))
		if res.Records < 1 || len(lines) != res.Records {
			t.Fatalf("%d records but %d lines", res.Records, len(lines))
		}
		for _, l := range lines {
			var obj map[string]any
			if err := json.Unmarshal(l, &obj); err != nil {
				t.Fatalf("line %q is not a JSON object: %v", l, err)
			}
		}
		again, err := ParseBytes(res.NDJSON)
		if err != nil || !bytes.Equal(again.NDJSON, res.NDJSON) {
			t.Fatalf("normalised output does not parse to itself: %v", err)
		}
	})
}

func BenchmarkParseObject(b *testing.B) {
	body := []byte(`{"device":"bench-1","ts":"2026-01-02T03:04:05.678Z","seq":123456,"site":"plant-7/line-3","readings":{"temperature_c":21.53,"humidity_pct":40.2,"pressure_hpa":1013.25,"vibration_mm_s":0.82,"current_a":3.91},"status":"ok","firmware":"2.14.3","battery_pct":87,"tags":["bench","loopback","hardgate"]}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(body), "", 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseNDJSON100(b *testing.B) {
	var body bytes.Buffer
	for i := range 100 {
		fmt.Fprintf(&body, `{"device":"bench-1","ts":"2026-01-02T03:04:05.678Z","seq":%d,"site":"plant-7/line-3","readings":{"temperature_c":21.53,"humidity_pct":40.2,"pressure_hpa":1013.25,"vibration_mm_s":0.82,"current_a":3.91},"status":"ok","firmware":"2.14.3","battery_pct":87,"tags":["bench","loopback","hardgate"]}`+"\n", 100000+i)
	}
	b.ReportAllocs()
	b.SetBytes(int64(body.Len()))
	buf := make([]byte, 0, body.Len()+1)
	for b.Loop() {
		res, err := ParseInto(buf, bytes.NewReader(body.Bytes()), "", 1<<20, int64(body.Len()))
		if err != nil {
			b.Fatal(err)
		}
		buf = res.NDJSON[:0]
	}
}
