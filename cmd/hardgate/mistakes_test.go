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

func TestAMistypedFlagOrCommandPrintsOneLineWithWhatWasMeant(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"--uri for --url", []string{"audit", "--uri", "https://127.0.0.1:8443/v1/ingest"}, "unknown flag --uri; did you mean --url?"},
		{"curl's --cacert for --ca", []string{"audit", "--cacert", "ca.pem"}, "did you mean --ca?"},
		{"--output for --out", []string{"audit", "--url", "https://127.0.0.1/x", "--output", "r.json"}, "did you mean --out?"},
		{"audti for audit", []string{"audti"}, `unknown command "audti"; did you mean audit?`},
		{"a swapped pair after a positional argument", []string{"report", "r.json", "--fromat", "md"}, "did you mean --format?"},
		{"a history command misspelt", []string{"history", "lsit"}, "did you mean list?"},
		{"a history flag misspelt", []string{"history", "list", "--dbb", "h.db"}, "did you mean --db?"},
		{"a diff flag misspelt", []string{"diff", "a.json", "b.json", "--fail-on-regression"}, "did you mean --fail-on?"},
		{"a bad flag value", []string{"audit", "--timeout", "soon"}, `invalid value "soon" for flag -timeout`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != exitUsage || stdout != "" {
				t.Fatalf("exit %d, want %d, nothing on stdout; stdout:\n%s", code, exitUsage, stdout)
			}
			if lines := strings.Count(stderr, "\n"); lines != 1 {
				t.Fatalf("stderr has %d lines, want one:\n%s", lines, stderr)
			}
			if !strings.Contains(stderr, tt.want) || !strings.Contains(stderr, "--help lists the") {
				t.Fatalf("stderr = %q, want %q and where the help is", stderr, tt.want)
			}
		})
	}
	t.Run("--help still prints the whole help", func(t *testing.T) {
		code, _, stderr := runCLI(t, "audit", "--help")
		if code != exitOK || !strings.Contains(stderr, "Examples:") || !strings.Contains(stderr, "-gateway-config") {
			t.Fatalf("exit %d, help:\n%s", code, stderr)
		}
	})
}

func TestInputMistakesSayWhatToDo(t *testing.T) {
	dir := t.TempDir()
	key := mistakeFile(t, dir, "server-key.pem", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5j5NWvSCz6IOOoAoGCCqGSM49\nAwEHoUQDQgAEbWg4v1cMBLqGwlnN8n6Rm7t7m5KZ0hK3x0hV+8X+3sxFqNvYjR1H\nZs0t6a1hL1dH1y3a0N1m8p2Y5S0pJ3nHkA==\n-----END EC PRIVATE KEY-----\n")
	spec := mistakeFile(t, dir, "target.yaml", "name: gw\ningest: https://127.0.0.1:8443/v1/ingest\n")
	tests := []struct {
		name, want string
		args       []string
	}{
		{"a URL without a scheme", `--url: ingest.urls[0]: has no scheme: write https://127.0.0.1:8443/v1/ingest`, []string{"audit", "--url", "127.0.0.1:8443/v1/ingest"}},
		{"an MQTT URL without a scheme", `--mqtt-url: mqtt.urls[0]: has no scheme: write mqtts://127.0.0.1:8883`, []string{"audit", "--mqtt-url", "127.0.0.1:8883"}},
		{"a private key passed as --ca", "--ca: ingest.ca_file: holds a private key, not a certificate", []string{"audit", "--url", "https://127.0.0.1:8443/v1/ingest", "--ca", key}},
		{"a YAML type mistake in a target spec", "line 2: ingest: want a mapping of keys (urls, health_url, ca_file, token_env)", []string{"audit", "--target", spec}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != exitUsage || stdout != "" {
				t.Fatalf("exit %d, want %d; stdout:\n%s", code, exitUsage, stdout)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Fatalf("stderr = %q, want %q", stderr, tt.want)
			}
			if strings.Contains(stderr, "spec.") || strings.Contains(stderr, "PRIVATE KEY-----") {
				t.Fatalf("stderr shows a Go type or the key: %s", stderr)
			}
		})
	}
}
