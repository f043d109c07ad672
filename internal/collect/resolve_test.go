package collect

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/pki"
	"github.com/hardgate/hardgate/internal/spec"
)

func TestResolveNamesTheFieldOfWhatItCannotRead(t *testing.T) {
	t.Setenv("HG_EMPTY", "")
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	ca, err := pki.NewCA("test CA", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue([]string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := filepath.Join(dir, "server-key.pem")
	if err := os.WriteFile(keyPEM, leaf.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	https := spec.Ingest{URLs: []string{"https://127.0.0.1/x"}}
	tests := []struct {
		name    string
		target  spec.Target
		wantErr string
	}{
		{"a missing CA file is refused", spec.Target{Ingest: spec.Ingest{URLs: https.URLs, CAFile: "/nonexistent/ca.pem"}}, `ingest.ca_file: cannot be read: no such file or directory (got "/nonexistent/ca.pem")`},
		{"a CA file without a certificate is refused", spec.Target{Ingest: spec.Ingest{URLs: https.URLs, CAFile: notPEM}}, "ingest.ca_file: holds no PEM certificate"},
		{"a private key given as the CA file is named as one", spec.Target{Ingest: spec.Ingest{URLs: https.URLs, CAFile: keyPEM}}, "ingest.ca_file: holds a private key, not a certificate"},
		{"an MQTT CA file without a certificate is refused", spec.Target{MQTT: spec.MQTT{URLs: []string{"mqtts://127.0.0.1:8883"}, CAFile: notPEM}}, "mqtt.ca_file: holds no PEM certificate"},
		{"an empty token variable is refused", spec.Target{Ingest: spec.Ingest{URLs: https.URLs, TokenEnv: "HG_EMPTY"}}, `ingest.token_env: the environment variable is unset or empty (got "HG_EMPTY")`},
		{"an empty password variable is refused", spec.Target{MQTT: spec.MQTT{URLs: []string{"mqtt://127.0.0.1:1883"}, Username: "u", PasswordEnv: "HG_EMPTY"}}, "mqtt.password_env: the environment variable is unset or empty"},
		{"a missing gateway config is refused", spec.Target{Gateway: spec.Gateway{ConfigFile: "/nonexistent.yaml", Kind: spec.KindIngestd}}, "gateway.config_file: cannot be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Resolve(&tt.target)
			var fe *spec.FieldError
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &fe) {
				t.Fatalf("Resolve error = %v, want a field error with %q", err, tt.wantErr)
			}
		})
	}
}

func TestResolveLoadsEachTrustAnchorOnceForEveryProbe(t *testing.T) {
	ca, err := pki.NewCA("test CA", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HG_TOKEN", "tok")
	tgt := spec.Target{
		Ingest: spec.Ingest{URLs: []string{"https://127.0.0.1:8443/v1/ingest"}, CAFile: caFile, TokenEnv: "HG_TOKEN"},
		MQTT:   spec.MQTT{URLs: []string{"mqtts://127.0.0.1:8883"}},
	}
	in, err := Resolve(&tgt)
	if err != nil {
		t.Fatal(err)
	}
	if in.Token != "tok" {
		t.Errorf("token %q", in.Token)
	}
	pool := in.Roots(caFile)
	if pool == nil || in.Roots(mqttCAFile(&tgt)) != pool {
		t.Error("the MQTT probe does not verify with the ingest CA file's pool")
	}
	for _, ep := range tlsEndpoints(&tgt) {
		if in.Roots(ep.CAFile) != pool {
			t.Errorf("TLS endpoint %s verifies with another pool", ep.Address)
		}
	}
	if in.Roots("") != nil {
		t.Error("no CA file must mean the system roots (nil)")
	}
}

func TestResolveNeverEchoesAnUnsetVariableThatReadsAsASecret(t *testing.T) {
	const token = "hgtQ7fK2mZp9Lx4vWc8R" // a valid variable name, and a token's shape
	tgt := spec.Target{Ingest: spec.Ingest{URLs: []string{"https://127.0.0.1/x"}, TokenEnv: token}}
	_, err := Resolve(&tgt)
	if err == nil {
		t.Fatal("Resolve accepted an unset variable")
	}
	if strings.Contains(err.Error(), token) {
		t.Fatalf("the error prints what may be the token: %v", err)
	}
	if !strings.Contains(err.Error(), "do not pass the token itself") {
		t.Fatalf("error = %v, want the hint", err)
	}
}
