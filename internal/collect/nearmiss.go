package collect

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// NearMiss is a token that differs from the valid one only where a
// careless gateway does not look: a gateway that checks a token's id or
// prefix, compares only as many bytes as it was given, or trusts a JWT's
// header, accepts it. The token itself is a secret (it holds most of the
// valid one) and never leaves collect: evidence names the Variant.
type NearMiss struct {
	// Variant names how the token differs from the valid one.
	Variant string
	token   string
}

// tokenSeparators split a token's id or prefix from its secret, the first
// one present deciding: "igd.<id>.<secret>", "ghp_<secret>", "sk-<secret>".
const tokenSeparators = ".:_-"

// nearMisses returns the near-miss variants of the valid token: for a JWT,
// the same header and claims with alg "none" and no signature, and with a
// broken signature; for any other token, its secret part (after the last
// separator, or the second half of a token without one) replaced at random
// with characters of the same kinds, same length; and for every token, the
// token truncated (half its secret part cut). None equals the token.
func nearMisses(token string) []NearMiss {
	if len(token) < 2 {
		return nil
	}
	var out []NearMiss
	prefix, secret := splitSecret(token)
	if header, payload, sig, ok := splitJWT(token); ok {
		if none, ok := jwtAlgNone(header, payload); ok {
			out = append(out, NearMiss{Variant: `JWT alg none: the same header and claims, alg "none", no signature`, token: none})
		}
		out = append(out, NearMiss{Variant: "JWT broken signature: the same header and claims, every signature bit flipped", token: header + "." + payload + "." + breakSignature(sig)})
		secret = sig // truncation cuts half the signature
	} else if changed := changeSecret(secret); changed != secret {
		variant := fmt.Sprintf("secret part changed: the first %d of %d characters kept, the rest random of the same kinds", len(prefix), len(token))
		if !strings.ContainsAny(token, tokenSeparators) {
			variant = fmt.Sprintf("second half changed: the first %d of %d characters kept, the rest random of the same kinds", len(prefix), len(token))
		}
		out = append(out, NearMiss{Variant: variant, token: prefix + changed})
	}
	cut := max(1, len(secret)/2)
	out = append(out, NearMiss{Variant: fmt.Sprintf("truncated: the last %d of %d characters cut", cut, len(token)), token: token[:len(token)-cut]})
	kept := out[:0]
	for _, nm := range out {
		if nm.token != token && nm.token != "" {
			kept = append(kept, nm)
		}
	}
	return kept
}

// splitSecret splits token after its last separator (the first kind in
// tokenSeparators the token holds); without one, in half.
func splitSecret(token string) (prefix, secret string) {
	for _, sep := range tokenSeparators {
		if i := strings.LastIndexByte(token, byte(sep)); i >= 0 && i < len(token)-1 {
			return token[:i+1], token[i+1:]
		}
		if strings.ContainsRune(token, sep) {
			break // the separator ends the token: split in half below
		}
	}
	return token[:len(token)/2], token[len(token)/2:]
}

// splitJWT splits a compact JWS whose header is a JSON object naming an alg.
func splitJWT(token string) (header, payload, sig string, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return "", "", "", false
	}
	var h map[string]any
	if json.Unmarshal(raw, &h) != nil {
		return "", "", "", false
	}
	if _, isString := h["alg"].(string); !isString {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// jwtAlgNone is the unsecured JWT with header's fields, alg "none", the
// same claims and an empty signature.
func jwtAlgNone(header, payload string) (string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		return "", false
	}
	var h map[string]any
	if json.Unmarshal(raw, &h) != nil {
		return "", false
	}
	h["alg"] = "none"
	out, err := json.Marshal(h)
	if err != nil {
		return "", false
	}
	return base64.RawURLEncoding.EncodeToString(out) + "." + payload + ".", true
}

// breakSignature flips every bit of the signature's bytes, keeping its
// length and alphabet; a signature that is not base64url is changed
// character by character instead.
func breakSignature(sig string) string {
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || len(raw) == 0 {
		return changeSecret(sig)
	}
	for i := range raw {
		raw[i] ^= 0xff
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

// changeSecret replaces every letter and digit of s with a random one of
// the same kind (other bytes stay), until the result differs from s. The
// replacement is random so that the evidence, should a gateway echo it,
// says nothing about the valid secret.
func changeSecret(s string) string {
	const (
		lower  = "abcdefghijklmnopqrstuvwxyz"
		upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		digits = "0123456789"
	)
	if !strings.ContainsAny(s, lower+upper+digits) {
		return s
	}
	for {
		b := []byte(s)
		for i, c := range b {
			switch {
			case 'a' <= c && c <= 'z':
				b[i] = lower[randIndex(len(lower))]
			case 'A' <= c && c <= 'Z':
				b[i] = upper[randIndex(len(upper))]
			case '0' <= c && c <= '9':
				b[i] = digits[randIndex(len(digits))]
			}
		}
		if string(b) != s {
			return string(b)
		}
	}
}

func randIndex(n int) int {
	var b [1]byte
	for {
		_, _ = rand.Read(b[:])
		if limit := 256 - 256%n; int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}
