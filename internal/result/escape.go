package result

import (
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Printable makes target-controlled text safe to show, in a terminal and
// in every report format: control characters that a terminal would obey
// (C0 such as ESC, which starts CSI and OSC sequences, and DEL; C1 such as
// U+009B, a one-character CSI), bytes that are not UTF-8 (a lone 0x9B is
// CSI to an 8-bit terminal) and the bidirectional formatting characters
// that reorder what a reader sees (U+202A-U+202E embeddings and
// overrides, U+2066-U+2069 isolates, and the marks U+200E, U+200F,
// U+061C) are written as visible escapes: \x1b, \u202e. Newline and tab
// are kept (CRLF becomes a newline; a lone CR, which lets text overwrite
// its own line, is escaped); every renderer decides how it lays out lines.
func Printable(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\r' && strings.HasPrefix(s[i+1:], "\n"):
			// CRLF is a line break: the \n that follows stays.
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 && r != '\n' && r != '\t', r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// unsafeRune reports the C1 controls and the bidi formatting characters.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || unsafeRune(r) {
			return true
		}
		i += size
	}
	return false
}

// Escaped returns a deep copy of v in which every string (struct fields,
// slice elements, map keys and values, at any depth) went through
// Printable. Renderers print the copy, so no target-controlled text (a
// topic name, a header, a body excerpt, a config value, a reason quoting
// them) reaches a reader raw, and a field added to the result later is
// covered without a renderer knowing of it. v itself is not changed.
func Escaped[T any](v *T) *T {
	if v == nil {
		return nil
	}
	out := new(T)
	*out = *v
	escapeValue(reflect.ValueOf(out).Elem())
	return out
}

// escapeValue rewrites the strings under v, which must be settable,
// replacing every slice, map and pointer it passes with a copy.
func escapeValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if s := v.String(); needsEscape(s) {
			v.SetString(Printable(s))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				escapeValue(v.Field(i))
			}
		}
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return
		}
		c := reflect.New(v.Elem().Type()).Elem()
		c.Set(v.Elem())
		escapeValue(c)
		if v.Kind() == reflect.Pointer {
			p := reflect.New(c.Type())
			p.Elem().Set(c)
			v.Set(p)
		} else {
			v.Set(c)
		}
	case reflect.Slice:
		if v.IsNil() {
			return
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		for i := range c.Len() {
			escapeValue(c.Index(i))
		}
		v.Set(c)
	case reflect.Array:
		for i := range v.Len() {
			escapeValue(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			k := reflect.New(it.Key().Type()).Elem()
			k.Set(it.Key())
			escapeValue(k)
			e := reflect.New(it.Value().Type()).Elem()
			e.Set(it.Value())
			escapeValue(e)
			c.SetMapIndex(k, e)
		}
		v.Set(c)
	}
}

// EscapeJSON rewrites, in encoded JSON, the raw runes Printable escapes
// that encoding/json leaves as they are (C1 controls and the bidi
// formatting characters) as \uXXXX escapes: the document decodes to the
// same values, and printing it cannot drive a terminal or reorder text.
// encoding/json already escapes C0 controls and invalid UTF-8.
func EscapeJSON(data []byte) []byte {
	if !strings.ContainsFunc(string(data), unsafeRune) {
		return data
	}
	var b strings.Builder
	for _, r := range string(data) {
		if unsafeRune(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return []byte(b.String())
}
