package result

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPrintableShowsWhatATerminalOrABidiAlgorithmWouldObey(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain text is unchanged", "sensors/plant-7/temp: 21.5 °C", "sensors/plant-7/temp: 21.5 °C"},
		{"newline and tab are kept", "a\n\tb", "a\n\tb"},
		{"a CSI sequence that clears the screen", "\x1b[2Jok", `\x1b[2Jok`},
		{"an OSC 8 hyperlink", "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", `\x1b]8;;https://evil.example\x1b\click\x1b]8;;\x1b\`},
		{"an OSC title set ended by BEL", "\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"the C1 CSI character", "\u009b31mred", `\u009b31mred`},
		{"a lone 0x9b byte, CSI to an 8-bit terminal", "a\x9bb", `a\x9bb`},
		{"DEL and NUL", "a\x7fb\x00c", `a\x7fb\x00c`},
		{"a right-to-left override", "txt.\u202eexe", `txt.\u202eexe`},
		{"every embedding, override and isolate", "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069", `\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069`},
		{"the bidi marks", "\u200e\u200f\u061c", `\u200e\u200f\u061c`},
		{"CRLF is a line break", "a\r\nb", "a\nb"},
		{"a lone CR would overwrite the line", "safe\rEVIL", `safe\x0dEVIL`},
		{"right-to-left text itself is kept", "שלום مرحبا", "שלום مرحبا"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Printable(tc.in); got != tc.want {
				t.Errorf("Printable(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestEscapedCopiesEveryStringAndLeavesTheOriginal(t *testing.T) {
	res := &Result{
		Target:   Target{Name: "gw\x1b[31m", IngestURLs: []string{"http://x/\u202e"}},
		Controls: []ControlResult{{ID: "a.b", Reason: "topic \u202eevil", Status: "fail\u009b", Evidence: []Evidence{{HTTP: &HTTPExchange{ResponseHeaders: map[string]string{"Server\u2066": "\x1b]0;x\x07"}}}}}},
	}
	got := Escaped(res)
	if got.Target.Name != `gw\x1b[31m` || got.Target.IngestURLs[0] != `http://x/\u202e` || got.Controls[0].Reason != `topic \u202eevil` || got.Controls[0].Status != `fail\u009b` {
		t.Errorf("not escaped: %+v", got)
	}
	if v, ok := got.Controls[0].Evidence[0].HTTP.ResponseHeaders[`Server\u2066`]; !ok || v != `\x1b]0;x\x07` {
		t.Errorf("map key and value not escaped: %v", got.Controls[0].Evidence[0].HTTP.ResponseHeaders)
	}
	if res.Target.Name != "gw\x1b[31m" || res.Controls[0].Reason != "topic \u202eevil" || res.Target.IngestURLs[0] != "http://x/\u202e" ||
		res.Controls[0].Evidence[0].HTTP.ResponseHeaders["Server\u2066"] != "\x1b]0;x\x07" {
		t.Error("Escaped changed the original")
	}
	if Escaped[Result](nil) != nil {
		t.Error("Escaped(nil) is not nil")
	}
}

func TestEscapeJSONKeepsTheValues(t *testing.T) {
	in := []byte("{\"t\": \"a\u202eb\u009bc\"}\n")
	if got := string(EscapeJSON(in)); got != "{\"t\": \"a\\u202eb\\u009bc\"}\n" {
		t.Errorf("EscapeJSON = %q", got)
	}
	plain := []byte(`{"t": "ok"}`)
	if got := EscapeJSON(plain); &got[0] != &plain[0] {
		t.Error("a document without anything to escape was copied")
	}
}

// FuzzPrintable: whatever the input, the output is UTF-8 without a
// control character (but newline and tab) or a bidi formatting character.
func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"\x1b[2J", "\u202e", "a\r\nb", "\x9b", "ok"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Printable(s)
		if !utf8.ValidString(got) {
			t.Fatalf("Printable(%q) = %q is not UTF-8", s, got)
		}
		for _, r := range got {
			if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || unsafeRune(r) {
				t.Fatalf("Printable(%q) = %q keeps %U", s, got, r)
			}
		}
		if !strings.ContainsAny(s, "\r\\") && needsEscape(s) == (got == s) {
			t.Fatalf("needsEscape(%q) = %v but Printable changed it: %v", s, needsEscape(s), got != s)
		}
	})
}
