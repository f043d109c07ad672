package httpprobe

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

const pieceToken = "s3cr3t-device-token-0123456789abcdef"

// pieces are every MinLeak-byte window of s.
func pieces(s string) []string {
	var out []string
	for i := 0; i+MinLeak <= len(s); i++ {
		out = append(out, s[i:i+MinLeak])
	}
	return out
}

func TestEveryPieceOfASecretIsRedactedInEveryEncoding(t *testing.T) {
	r := newRedactor([]string{pieceToken})
	half := len(pieceToken) / 2
	tests := []struct {
		name, text string
		// leaked is what must not survive (default: every piece of the token)
		leaked []string
		want   string
	}{
		{"the token truncated", "got " + pieceToken[:len(pieceToken)-3] + " ok", nil, "got [REDACTED] ok"},
		{"the token's tail alone", "got " + pieceToken[10:] + ".", nil, "got [REDACTED]."},
		{"the token split in two", "a=" + pieceToken[:half] + "&b=" + pieceToken[half:], nil, "a=[REDACTED]&b=[REDACTED]"},
		{"a piece of exactly eight bytes", "x" + pieceToken[3:3+MinLeak] + "y", nil, "x[REDACTED]y"},
		{"a piece of seven bytes is no leak", "x" + pieceToken[3:3+MinLeak-1] + "y", []string{}, "x" + pieceToken[3:3+MinLeak-1] + "y"},
		{"a truncated token percent-encoded", "t=" + url.QueryEscape("s3cr3t/"+pieceToken[7:30]), []string{pieceToken[7:15]}, "t=s3cr3t%2F[REDACTED]"},
		{"a piece in base64 at every alignment", base64.StdEncoding.EncodeToString([]byte(pieceToken[1:20])) + " " +
			base64.StdEncoding.EncodeToString([]byte(pieceToken[2:21])) + " " + base64.RawURLEncoding.EncodeToString([]byte(pieceToken[3:22])), []string{
			base64.StdEncoding.EncodeToString([]byte(pieceToken[1:20]))[:20],
			base64.StdEncoding.EncodeToString([]byte(pieceToken[2:21]))[:20],
			base64.RawURLEncoding.EncodeToString([]byte(pieceToken[3:22]))[:20],
		}, ""},
		{"text without the token is unchanged", "nothing secret here, 0123456", []string{}, "nothing secret here, 0123456"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := r.redact(tc.text)
			leaked := tc.leaked
			if leaked == nil {
				leaked = pieces(pieceToken)
			}
			for _, p := range leaked {
				if strings.Contains(got, p) {
					t.Errorf("%q survives in %q", p, got)
				}
			}
			if tc.want != "" && got != tc.want {
				t.Errorf("redact = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAShortSecretIsRedactedWhole(t *testing.T) {
	r := newRedactor([]string{"pw1234"})
	if got := r.redact("user pw1234 and pw12"); got != "user [REDACTED] and pw12" {
		t.Fatalf("redact = %q", got)
	}
	extra := r.with([]string{"another-secret-value"})
	if got := extra.redact("pw1234 another-secret"); got != "[REDACTED] [REDACTED]" {
		t.Fatalf("with(extra).redact = %q", got)
	}
	if got := r.redact("another-secret"); got != "another-secret" {
		t.Fatalf("with changed the original redactor: %q", got)
	}
}

// FuzzRedact: whatever the text, no piece of the secret survives (for a
// secret that cannot be confused with the marker itself).
func FuzzRedact(f *testing.F) {
	f.Add(pieceToken, "echo "+pieceToken[:20]+"/"+pieceToken[18:])
	f.Add("abc+def/ghi==", "t="+url.QueryEscape("abc+def/ghi==")+base64.StdEncoding.EncodeToString([]byte("abc+def/ghi==")))
	f.Add("aaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaaaaaaaa")
	f.Fuzz(func(t *testing.T, secret, text string) {
		r := newRedactor([]string{secret})
		got := r.redact(text)
		if strings.ContainsAny(secret, "[]") || strings.Contains(secret, "REDACTED") {
			return
		}
		for _, p := range pieces(secret) {
			if strings.Contains(got, p) {
				t.Fatalf("piece %q of %q survives in %q", p, secret, got)
			}
		}
		if len(secret) > 0 && len(secret) < MinLeak && !strings.Contains(redactedMarker, secret) && strings.Contains(got, secret) {
			t.Fatalf("short secret %q survives in %q", secret, got)
		}
	})
}
