package report_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/result"
)

// hostile is what a target can put in a topic name, a header, a body or a
// config value: an OSC 8 hyperlink, a BEL, C1 CSI, a lone 0x9b byte, a
// right-to-left override and an isolate.
const hostile = "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\\x07\u009b31m\x9b\u202eexe.txt\u2066\x1b[2J"

// poison appends hostile to every string under v but the enumerations
// renderers branch on.
func poison(v reflect.Value, field string) {
	switch v.Kind() {
	case reflect.String:
		switch field {
		case "Status", "Severity", "Posture", "Priority", "SchemaVersion", "Kind":
			return
		}
		v.SetString(v.String() + hostile)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				poison(v.Field(i), v.Type().Field(i).Name)
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			poison(v.Elem(), field)
		}
	case reflect.Slice:
		for i := range v.Len() {
			poison(v.Index(i), field)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			poison(e, field)
			v.SetMapIndex(k, e)
		}
	}
}

// unsafeIn returns the first rune of out that a terminal would obey or
// that reorders text, or -1.
func unsafeIn(out []byte) rune {
	if !utf8.Valid(out) {
		return utf8.RuneError
	}
	for _, r := range string(out) {
		switch {
		case r < 0x20 && r != '\n' && r != '\t', r == 0x7f, r >= 0x80 && r <= 0x9f,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return r
		}
	}
	return -1
}

func TestNoRendererPrintsTargetControlledTextRaw(t *testing.T) {
	for name, fixture := range fixtures() {
		res := fixture()
		poison(reflect.ValueOf(res).Elem(), "")
		for _, format := range report.Formats() {
			t.Run(name+" as "+format, func(t *testing.T) {
				var buf bytes.Buffer
				if err := report.Render(&buf, res, format, report.RenderOptions{Color: true}); err != nil {
					t.Fatal(err)
				}
				out := buf.Bytes()
				if format == "text" {
					// The renderer's own colours are the only escapes allowed.
					out = []byte(strings.NewReplacer("\x1b[0m", "", "\x1b[31m", "", "\x1b[32m", "", "\x1b[33m", "", "\x1b[1m", "").Replace(string(out)))
				}
				if r := unsafeIn(out); r != -1 {
					i := bytes.IndexRune(out, r)
					t.Fatalf("%s output holds %U raw: %q", format, r, out[max(0, i-40):min(len(out), i+40)])
				}
				if format == "json" {
					back, err := result.Decode(bytes.NewReader(buf.Bytes()))
					if err != nil {
						t.Fatal(err)
					}
					// The same values, but for the invalid UTF-8 byte, which JSON cannot hold.
					valid := func(s string) string { return strings.ToValidUTF8(s, "\ufffd") }
					if back.Target.Name != valid(res.Target.Name) || back.Controls[0].Reason != valid(res.Controls[0].Reason) {
						t.Errorf("the json document does not decode to the same values: %q", back.Target.Name)
					}
				} else if !bytes.Contains(buf.Bytes(), []byte(`\u202e`)) && format != "csv" {
					t.Errorf("%s output does not show the override as an escape", format)
				}
			})
		}
	}
}
