package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/auth"
	"github.com/hardgate/hardgate/internal/gateway/server/testcert"
)

// writeConfig writes a hardened config with fresh certificates into dir and
// returns its path; extra is appended verbatim (YAML).
func writeConfig(t *testing.T, dir, extra string) string {
	t.Helper()
	pki, err := testcert.New(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg := "listen:\n  https: 127.0.0.1:0\n" +
		"tls:\n  cert_file: " + pki.CertFile + "\n  key_file: " + pki.KeyFile + "\n" +
		"auth:\n  tokens_file: " + filepath.Join(dir, "tokens") + "\n" +
		"store:\n  dir: " + filepath.Join(dir, "store") + "\n" + extra
	path := filepath.Join(dir, "ingestd.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCmd(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "")
	if code, _, errOut := runCmd("token", "add", "--config", cfgPath, "--device", "sensor-1"); code != 0 {
		t.Fatalf("token add: %d %s", code, errOut)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("auth:\n  mode: magic\nstore:\n  max_bytes: -1\n  dir: x\nlisten:\n  https: nope\ntls:\n  cert_file: a\n  key_file: b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	huge := writeConfig(t, t.TempDir(), "limits:\n  max_body_bytes: 0x7fffffffffffffff\n")
	unknown := filepath.Join(dir, "unknown.yaml")
	if err := os.WriteFile(unknown, []byte("listen:\n  htps: 127.0.0.1:8443\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unsafe := writeConfig(t, t.TempDir(), "")
	data, _ := os.ReadFile(unsafe)
	if err := os.WriteFile(unsafe, []byte(strings.Replace(string(data), "auth:\n", "auth:\n  mode: none\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		code    int
		stdout  string
		stderrs []string
	}{
		{"no arguments is a usage error", nil, 2, "", []string{"Usage:"}},
		{"help prints examples", []string{"--help"}, 0, "Examples:", nil},
		{"version prints a version", []string{"version"}, 0, "ingestd ", nil},
		{"an unknown command is a usage error", []string{"serve"}, 2, "", []string{`unknown command "serve"`}},
		{"check-config accepts a valid config", []string{"check-config", "--config", cfgPath}, 0, "valid", nil},
		{"check-config names every invalid field", []string{"check-config", "--config", bad}, 2, "",
			[]string{"auth.mode", "store.max_bytes", "listen.https"}},
		{"check-config names a size out of range", []string{"check-config", "--config", huge}, 2, "",
			[]string{"limits.max_body_bytes: must be 1 to 67108864 bytes (64 MiB) (got 9223372036854775807)"}},
		{"check-config rejects unknown keys", []string{"check-config", "--config", unknown}, 2, "", []string{"htps"}},
		{"check-config refuses an unallowed unsafe setting", []string{"check-config", "--config", unsafe}, 2, "",
			[]string{`"auth_none"`, "guardrails.allow_unsafe"}},
		{"check-config needs --config", []string{"check-config"}, 2, "", []string{"--config"}},
		{"check-config help is not an error", []string{"check-config", "--help"}, 0, "Example:", nil},
		{"a missing config file is a config error", []string{"run", "--config", filepath.Join(dir, "nope.yaml")}, 2, "", []string{"nope.yaml"}},
		{"run refuses an unallowed unsafe setting", []string{"run", "--config", unsafe}, 2, "", []string{"auth_none"}},
		{"token add needs --device", []string{"token", "add", "--config", cfgPath}, 2, "", []string{"--device"}},
		{"token add rejects a bad device id", []string{"token", "add", "--config", cfgPath, "--device", "a b"}, 1, "", []string{"invalid device id"}},
		{"token revoke of an unknown device fails", []string{"token", "revoke", "--config", cfgPath, "--device", "nobody"}, 1, "", []string{"nobody"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errOut)
			}
			if !strings.Contains(out, tt.stdout) {
				t.Errorf("stdout %q does not contain %q", out, tt.stdout)
			}
			for _, want := range tt.stderrs {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr does not contain %q:\n%s", want, errOut)
				}
			}
		})
	}
}

func TestTokenAddPrintsOnlyTheToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "")
	code, out, errOut := runCmd("token", "add", "--config", cfgPath, "--device", "sensor-7")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, auth.TokenPrefix) {
		t.Fatalf("stdout = %q, want one line holding the token", out)
	}
	a, err := auth.NewAuthenticator(filepath.Join(dir, "tokens"))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := a.Verify(context.Background(), strings.TrimSpace(out)); err != nil || res.Device != "sensor-7" {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
	if code, _, errOut := runCmd("token", "revoke", "--config", cfgPath, "--device", "sensor-7"); code != 0 {
		t.Fatalf("revoke: %d %s", code, errOut)
	}
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(context.Background(), strings.TrimSpace(out)); err == nil {
		t.Fatal("revoked token still verifies")
	}
}
