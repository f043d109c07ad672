package httpprobe

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
)

// MinLeak is the length of the shortest piece of a secret that is redacted
// wherever it appears: a gateway that echoes a token truncated, or split
// in parts, leaks every part of MinLeak bytes or more.
const MinLeak = 8

// redactor hides secrets, whole or in pieces, raw or in the encodings a
// gateway might echo them in: percent-encoded (query and path) and base64
// (standard and URL alphabets, at each of the three byte alignments, so
// that a piece cut anywhere is found).
type redactor struct {
	// whole are the secrets and their encoded forms, for a secret shorter
	// than MinLeak, found only whole.
	whole []string
	// grams are every MinLeak-byte window of every form of every secret:
	// text covered by windows is covered by pieces of a secret.
	grams map[string]struct{}
}

func newRedactor(secrets []string) *redactor {
	r := &redactor{grams: map[string]struct{}{}}
	r.add(secrets)
	return r
}

// with returns a redactor that also hides extra.
func (r *redactor) with(extra []string) *redactor {
	if len(extra) == 0 {
		return r
	}
	c := &redactor{whole: slices.Clone(r.whole), grams: make(map[string]struct{}, len(r.grams))}
	for g := range r.grams {
		c.grams[g] = struct{}{}
	}
	c.add(extra)
	return c
}

func (r *redactor) add(secrets []string) {
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		for _, form := range encodedForms(secret) {
			r.whole = append(r.whole, form)
			for i := 0; i+MinLeak <= len(form); i++ {
				r.grams[form[i:i+MinLeak]] = struct{}{}
			}
		}
	}
	slices.SortFunc(r.whole, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a) // longest first: an encoded form before the secret inside it
		}
		return strings.Compare(a, b)
	})
	r.whole = slices.Compact(r.whole)
}

// encodedForms are secret and the encodings it may come back in.
func encodedForms(secret string) []string {
	forms := []string{secret, url.QueryEscape(secret), url.PathEscape(secret)}
	for shift := 0; shift < 3 && shift < len(secret); shift++ {
		b := []byte(secret[shift:])
		forms = append(forms, base64.StdEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b))
	}
	return forms
}

// redact replaces every run of s covered by pieces of a secret (MinLeak
// bytes or more), and every whole secret, with the marker.
func (r *redactor) redact(s string) string {
	if len(s) == 0 || (len(r.grams) == 0 && len(r.whole) == 0) {
		return s
	}
	var covered []bool
	mark := func(from, to int) {
		if covered == nil {
			covered = make([]bool, len(s))
		}
		for i := from; i < to; i++ {
			covered[i] = true
		}
	}
	for i := 0; i+MinLeak <= len(s); i++ {
		if _, ok := r.grams[s[i:i+MinLeak]]; ok {
			mark(i, i+MinLeak)
		}
	}
	for _, w := range r.whole {
		for off := 0; ; {
			j := strings.Index(s[off:], w)
			if j < 0 {
				break
			}
			mark(off+j, off+j+len(w))
			off += j + len(w)
		}
	}
	if covered == nil {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if !covered[i] {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteString(redactedMarker)
		for i < len(s) && covered[i] {
			i++
		}
	}
	return b.String()
}
