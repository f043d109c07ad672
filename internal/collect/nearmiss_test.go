package collect

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func variantsOf(t *testing.T, token string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, nm := range nearMisses(token) {
		if nm.token == token {
			t.Fatalf("variant %q equals the valid token", nm.Variant)
		}
		out[nm.Variant] = nm.token
	}
	return out
}

func TestNearMissesKeepWhatACarelessGatewayChecks(t *testing.T) {
	const ingestd = "igd.AbCdEfGhIjKl.k3Jx9-Qw_ErTyUiOpAsDfGhJkLzXcVbNm1234567890ab"
	jwt := b64(`{"alg":"HS256","typ":"JWT","kid":"k1"}`) + "." + b64(`{"sub":"device-01"}`) + "." + b64("0123456789abcdef0123456789abcdef")
	tests := []struct {
		name  string
		token string
		check func(t *testing.T, v map[string]string)
	}{
		{"an ingestd token keeps its prefix and id and changes its secret", ingestd, func(t *testing.T, v map[string]string) {
			changed := v["secret part changed: the first 17 of 62 characters kept, the rest random of the same kinds"]
			if len(changed) != len(ingestd) || !strings.HasPrefix(changed, "igd.AbCdEfGhIjKl.") || changed[17:] == ingestd[17:] {
				t.Errorf("changed secret %q: want the same length and prefix, another secret", changed)
			}
			kind := func(c byte) string {
				switch {
				case 'a' <= c && c <= 'z':
					return "lower"
				case 'A' <= c && c <= 'Z':
					return "upper"
				case '0' <= c && c <= '9':
					return "digit"
				}
				return string(c)
			}
			for i := 17; i < len(changed); i++ {
				if kind(changed[i]) != kind(ingestd[i]) {
					t.Errorf("byte %d: %q became %q; letters and digits change kind for kind, other bytes stay", i, ingestd[i], changed[i])
				}
			}
			if tr := v["truncated: the last 22 of 62 characters cut"]; tr != ingestd[:40] {
				t.Errorf("truncated %q, want %q", tr, ingestd[:40])
			}
			if len(v) != 2 {
				t.Errorf("variants %v, want the changed secret and the truncation", v)
			}
		}},
		{"a JWT gets alg none and a broken signature", jwt, func(t *testing.T, v map[string]string) {
			none := v[`JWT alg none: the same header and claims, alg "none", no signature`]
			parts := strings.Split(none, ".")
			if len(parts) != 3 || parts[1] != b64(`{"sub":"device-01"}`) || parts[2] != "" {
				t.Fatalf("alg none token %q: want the same claims and an empty signature", none)
			}
			raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
			var h map[string]string
			if err := json.Unmarshal(raw, &h); err != nil || h["alg"] != "none" || h["kid"] != "k1" || h["typ"] != "JWT" {
				t.Errorf("alg none header %s: want alg none and the other fields kept", raw)
			}
			broken := v["JWT broken signature: the same header and claims, every signature bit flipped"]
			if len(broken) != len(jwt) || broken[:strings.LastIndexByte(jwt, '.')] != jwt[:strings.LastIndexByte(jwt, '.')] || broken == jwt {
				t.Errorf("broken signature %q: want the same header and claims, another signature of the same length", broken)
			}
			if len(v) != 3 {
				t.Errorf("variants %v, want alg none, broken signature and truncation", v)
			}
		}},
		{"a token without a separator changes its second half", "AbCdEfGh12345678", func(t *testing.T, v map[string]string) {
			changed := v["second half changed: the first 8 of 16 characters kept, the rest random of the same kinds"]
			if len(changed) != 16 || changed[:8] != "AbCdEfGh" || changed[8:] == "12345678" {
				t.Errorf("changed %q", changed)
			}
		}},
		{"a prefixed token splits at its last separator", "ghp_R4nd0mS3cr3t", func(t *testing.T, v map[string]string) {
			changed := v["secret part changed: the first 4 of 16 characters kept, the rest random of the same kinds"]
			if !strings.HasPrefix(changed, "ghp_") || len(changed) != 16 {
				t.Errorf("changed %q", changed)
			}
		}},
		{"three dots that are not a JWT are an ordinary token", "a.b.c", func(t *testing.T, v map[string]string) {
			for name := range v {
				if strings.Contains(name, "JWT") {
					t.Errorf("variant %q for a token that is not a JWT", name)
				}
			}
		}},
		{"a one-character token has no near miss", "x", func(t *testing.T, v map[string]string) {
			if len(v) != 0 {
				t.Errorf("variants %v", v)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, variantsOf(t, tc.token)) })
	}
}

func FuzzNearMisses(f *testing.F) {
	f.Add("igd.AbCdEfGhIjKl.k3Jx9-Qw_ErTyUiOpAsDfGhJkLzXcVbNm1234567890ab")
	f.Add(b64(`{"alg":"RS256"}`) + "." + b64(`{}`) + ".c2ln")
	f.Add("----")
	f.Add("a.")
	f.Fuzz(func(t *testing.T, token string) {
		for _, nm := range nearMisses(token) {
			if nm.token == token || nm.token == "" || nm.Variant == "" {
				t.Fatalf("variant %q = %q for %q", nm.Variant, nm.token, token)
			}
			if strings.Contains(nm.Variant, token) && len(token) >= 8 {
				t.Fatalf("the variant's name %q holds the token", nm.Variant)
			}
		}
	})
}
