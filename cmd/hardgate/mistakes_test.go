package main

import (
	"strings"
	"testing"
)

// The mistakes of issue 18 (items 5 to 9): each gives exit 2 and one
// message that says what to do, never a false finding or a leaked secret.

func TestTokenEnvGivenTheTokenIsNeverEchoed(t *testing.T) {
	const token = "igd.Zm9vYmFyYmF6cXV4.bm90LWEtdmFyaWFibGUtbmFtZS1idXQtYS10b2tlbg"
	for _, tc := range []struct{ name, value string }{
		{"a token with dots (not a variable name)", token},
		{"a token that is also a valid, unset variable name", "hgtQ7fK2mZp9Lx4vWc8Rz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "audit", "--url", "https://127.0.0.1:1/v1/ingest", "--token-env", tc.value)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitUsage, stderr)
			}
			if strings.Contains(stdout+stderr, tc.value) {
				t.Fatalf("the token was printed:\n%s%s", stdout, stderr)
			}
			if !strings.Contains(stderr, "--token-env") || !strings.Contains(stderr, "do not pass the token itself") {
				t.Fatalf("stderr does not say what to do:\n%s", stderr)
			}
		})
	}
}
