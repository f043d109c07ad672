package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConnConfigRefusesUnsafeURLs(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		cfg     ConnConfig
		wantErr string
		wantTLS bool
	}{
		{"plaintext to loopback is allowed", ConnConfig{URL: "nats://127.0.0.1:4222"}, "", false},
		{"plaintext to localhost is allowed", ConnConfig{URL: "nats://localhost:4222"}, "", false},
		{"plaintext to ::1 is allowed", ConnConfig{URL: "nats://[::1]:4222"}, "", false},
		{"plaintext to another host is refused", ConnConfig{URL: "nats://nats.example.net:4222"}, "plaintext NATS", false},
		{"plaintext in a cluster list is refused", ConnConfig{URL: "tls://a.example.net:4222,nats://b.example.net:4222"}, "plaintext NATS", false},
		{"plaintext allowed explicitly", ConnConfig{URL: "nats://nats.example.net:4222", AllowPlaintext: true}, "", false},
		{"tls:// turns TLS on", ConnConfig{URL: "tls://nats.example.net:4222"}, "", true},
		{"an empty URL", ConnConfig{}, "empty", false},
		{"another scheme", ConnConfig{URL: "http://127.0.0.1:4222"}, "scheme", false},
		{"credentials in the URL", ConnConfig{URL: "tls://user:pw@nats.example.net:4222"}, "credentials in the URL", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tlsOn, err := tc.cfg.tlsWanted()
			if tc.wantErr == "" {
				if err != nil || tlsOn != tc.wantTLS {
					t.Fatalf("tls %v err %v, want tls %v and no error", tlsOn, err, tc.wantTLS)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want one containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "pw") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
	_, err := (&ConnConfig{URL: "nats://nats.example.net:4222"}).Options()
	if !errors.Is(err, ErrPlaintext) {
		t.Errorf("Options: %v, want ErrPlaintext", err)
	}
	if _, err := (&ConnConfig{URL: "nats://127.0.0.1:4222", CAFile: ca}).Options(); err == nil || !strings.Contains(err.Error(), "no PEM") {
		t.Errorf("a CA file without a certificate: %v", err)
	}
	if _, err := (&ConnConfig{URL: "nats://127.0.0.1:4222", CredsFile: ca}).Options(); err == nil {
		t.Errorf("a creds file that is neither creds nor seed was accepted")
	}
}
