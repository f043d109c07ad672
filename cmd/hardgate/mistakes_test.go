package main

import (
	"os"
	"path/filepath"
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

func TestAConfigOfTheOtherKindExits2NamingTheLikelyKind(t *testing.T) {
	dir := t.TempDir()
	ingestdYAML := mistakeFile(t, dir, "ingestd.yaml", "listen:\n  https: 127.0.0.1:8443\ntls:\n  cert_file: s.pem\n  key_file: k.pem\nauth:\n  tokens_file: t.yaml\n")
	mosquittoConf := mistakeFile(t, dir, "mosquitto.conf", "listener 1883 127.0.0.1\nallow_anonymous false\npassword_file /etc/mosquitto/passwd\n")
	tests := []struct {
		name, file, kind, want string
	}{
		{"an ingestd YAML audited as mosquitto", ingestdYAML, "mosquitto", "--gateway-kind ingestd"},
		{"a mosquitto.conf audited as ingestd", mosquittoConf, "ingestd", "--gateway-kind mosquitto"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is a usage error, not findings", func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "audit", "--gateway-config", tt.file, "--gateway-kind", tt.kind)
			if code != exitUsage || stdout != "" {
				t.Fatalf("exit %d, want %d and no report; stdout:\n%s\nstderr:\n%s", code, exitUsage, stdout, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Fatalf("stderr does not name the likely kind (%s):\n%s", tt.want, stderr)
			}
		})
	}
}

func mistakeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
