package ingestdconf

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseRejectsBadConfigs(t *testing.T) {
	tests := []struct {
		name, cfg, wantErr string
	}{
		{"an unknown key is refused", "auth:\n  mode: none\n  password: x\n", "line 3: auth.password: unknown key"},
		{"a wrong type is refused", "store:\n  max_bytes: lots\n", `line 2: store.max_bytes: want a whole number, got "lots"`},
		{"a duplicate key is refused", "auth:\n  mode: none\nauth:\n  mode: bearer\n", "line 3: auth: set twice (first at line 1)"},
		{"a list at the top is refused", "- a\n", "mapping"},
		{"broken YAML is refused", "auth: [\n", "parse config"},
		{"two documents are refused", "auth: {}\n---\nauth: {}\n", "more than one"},
		{"an oversize file is refused", "# " + strings.Repeat("x", 1<<20) + "\n", "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.cfg))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestSettingsCarryTheirLinesAndDefaults(t *testing.T) {
	f, err := Parse(strings.NewReader("# c\nlisten:\n  http: 127.0.0.1:8080\nauth:\n  mode: none\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key, value string
		line       int
	}{
		{"listen.http", "127.0.0.1:8080", 3},
		{"auth.mode", "none", 5},
		{"listen.https", "127.0.0.1:8443", 0},
		{"tls.min_version", "1.2", 0},
		{"guardrails.legacy_silence_unsafe", "false", 0},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			v, line, ok := f.Setting(tt.key)
			if !ok || v != tt.value || line != tt.line {
				t.Fatalf("Setting(%q) = %q line %d ok %v, want %q line %d", tt.key, v, line, ok, tt.value, tt.line)
			}
		})
	}
	if f.Invalid == nil {
		t.Error("a config with auth none and no store dir... should report Validate problems")
	}
	if len(f.SHA256) != 64 {
		t.Errorf("sha256 = %q", f.SHA256)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("listen:\n  http: 127.0.0.1:8080\nauth:\n  mode: none\nguardrails:\n  allow_unsafe: [auth_none]\n"))
	f.Add([]byte("forward:\n  kind: http\n  backoff_min: 1s\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cf, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, k := range cf.Keys() {
			if _, _, ok := cf.Setting(k); !ok {
				t.Fatalf("listed key %q has no setting", k)
			}
		}
	})
}
