package payload

import (
	"bytes"
	"strings"
	"testing"
)

func TestScanBody(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		ok      bool
		normal  bool
		records int
	}{
		{name: "a compact object is in normal form", body: `{"a":1,"b":[true,false,null],"c":{"d":"e"}}`, ok: true, normal: true, records: 1},
		{name: "a compact object with its newline is in normal form", body: "{\"a\":1}\n", ok: true, normal: true, records: 1},
		{name: "compact NDJSON is in normal form", body: "{\"a\":1}\n{\"b\":-0.5e+3}\n{}", ok: true, normal: true, records: 3},
		{name: "whitespace inside a record needs compaction", body: `{"a": 1}`, ok: true, records: 1},
		{name: "CRLF between records needs compaction", body: "{\"a\":1}\r\n{\"b\":2}", ok: true, records: 2},
		{name: "a blank line between records needs compaction", body: "{\"a\":1}\n\n{\"b\":2}\n", ok: true, records: 2},
		{name: "leading whitespace needs compaction", body: " {\"a\":1}", ok: true, records: 1},
		{name: "an array always needs rewriting", body: `[{"a":1},{"b":2}]`, ok: true, records: 2},
		{name: "escapes and non-ASCII text are valid", body: `{"s":"\"\\\/\b\f\n\r\t\u00e9 Zürich 🙂"}`, ok: true, normal: true, records: 1},
		{name: "an empty array is left to the detailed parser", body: `[]`},
		{name: "two records on one line are refused", body: `{"a":1} {"b":2}`},
		{name: "a record that is not an object is refused", body: "{\"a\":1}\n[1]"},
		{name: "an array element that is not an object is refused", body: `[{"a":1},2]`},
		{name: "a trailing comma is refused", body: `{"a":1,}`},
		{name: "a missing colon is refused", body: `{"a" 1}`},
		{name: "a leading zero is refused", body: `{"a":01}`},
		{name: "a bare minus is refused", body: `{"a":-}`},
		{name: "a fraction without digits is refused", body: `{"a":1.}`},
		{name: "an exponent without digits is refused", body: `{"a":1e+}`},
		{name: "a bad escape is refused", body: `{"a":"\x"}`},
		{name: "a short unicode escape is refused", body: `{"a":"\u12"}`},
		{name: "a control character in a string is refused", body: "{\"a\":\"\x01\"}"},
		{name: "invalid UTF-8 in a string is refused", body: "{\"a\":\"\xff\"}"},
		{name: "an unterminated string is refused", body: `{"a":"b`},
		{name: "an unclosed object is refused", body: `{"a":{"b":1}`},
		{name: "a mismatched bracket is refused", body: `{"a":[1}}`},
		{name: "a misspelt literal is refused", body: `{"a":nul}`},
		{name: "data after an array is refused", body: `[{"a":1}] x`},
		{name: "an empty body is refused", body: " \n"},
		{name: "nesting deeper than the fast path follows is left to the detailed parser", body: `{"a":` + strings.Repeat("[", maxScanDepth+1) + strings.Repeat("]", maxScanDepth+1) + `}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, ok := scanBody([]byte(tt.body))
			if ok != tt.ok || (ok && (sc.normal != tt.normal || sc.records != tt.records)) {
				t.Fatalf("scanBody = %+v, %v; want ok %v, normal %v, %d records", sc, ok, tt.ok, tt.normal, tt.records)
			}
		})
	}
}

func TestNormalBodyIsStoredWithoutACopy(t *testing.T) {
	body := `{"device":"d-1","t":21.5}`
	buf := make([]byte, 0, 64)
	res, err := ParseInto(buf, strings.NewReader(body), "", 1<<20, int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	if string(res.NDJSON) != body+"\n" || &res.NDJSON[0] != &buf[:1][0] {
		t.Fatalf("NDJSON %q does not share the caller's buffer", res.NDJSON)
	}
}

func TestDeepNestingStillParses(t *testing.T) {
	body := `{"a":` + strings.Repeat("[", 500) + strings.Repeat("]", 500) + "}"
	res, err := ParseBytes([]byte(body))
	if err != nil || string(res.NDJSON) != body+"\n" {
		t.Fatalf("ParseBytes = %q, %v", res.NDJSON, err)
	}
}

// FuzzFastPathAgreesWithDetailedParser: whatever the fast path accepts,
// the detailed parser accepts with the same NDJSON and record count.
func FuzzFastPathAgreesWithDetailedParser(f *testing.F) {
	for _, s := range []string{
		`{"a":1}`, `[{"a":1},{"b":2}]`, "{\"a\":1}\n{\"b\":2}\n", `[ {"a" : [1, 2.5e-3, "x\ny"]} ,{} ]`,
		"{}\r\n\r\n{}", " {\"a\":{\"b\":[{},[]]}} \n", `{"s":"\u00e9\"\\"}`, "{\"a\":1}\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, ok := scanBody(data)
		if !ok {
			return
		}
		slow, err := (&parser{data: bytes.Clone(data)}).parse()
		if err != nil {
			t.Fatalf("the fast path accepts %q, the detailed parser says %v", data, err)
		}
		fast, err := parseOwned(bytes.Clone(data))
		if err != nil || !bytes.Equal(fast.NDJSON, slow.NDJSON) || fast.Records != slow.Records || sc.records != slow.Records {
			t.Fatalf("%q: fast %q (%d records, %v), detailed %q (%d)", data, fast.NDJSON, fast.Records, err, slow.NDJSON, slow.Records)
		}
	})
}
