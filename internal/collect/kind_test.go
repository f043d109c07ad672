package collect

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hardgate/hardgate/internal/spec"
)

const (
	ingestdYAML   = "listen:\n  https: 127.0.0.1:8443\ntls:\n  cert_file: /etc/ingestd/server.pem\n  key_file: /etc/ingestd/server-key.pem\nauth:\n  mode: bearer\n  tokens_file: /etc/ingestd/tokens.yaml\n"
	mosquittoConf = "# broker\nper_listener_settings false\nlistener 8883 127.0.0.1\ncertfile /etc/mosquitto/server.pem\nkeyfile /etc/mosquitto/server-key.pem\nallow_anonymous false\npassword_file /etc/mosquitto/passwd\n"
)

func TestAConfigOfTheOtherKindIsAUsageErrorNamingIt(t *testing.T) {
	tests := []struct {
		name       string
		content    string
		kind       string
		wantErr    bool
		wantLikely string
	}{
		{"an ingestd config read as mosquitto names ingestd", ingestdYAML, spec.KindMosquitto, true, spec.KindIngestd},
		{"a mosquitto.conf read as ingestd names mosquitto", mosquittoConf, spec.KindIngestd, true, spec.KindMosquitto},
		{"an ingestd config with a type error is refused, naming no other kind", "auth: bearer\n", spec.KindIngestd, true, ""},
		{"a YAML file that is not ingestd's, read as mosquitto, names no kind", "targets:\n  - name: gw\n", spec.KindMosquitto, true, ""},
		{"a mosquitto.conf with a bad port is refused", "port eighty\n", spec.KindMosquitto, true, ""},
		{"an ingestd config read as ingestd is read", ingestdYAML, spec.KindIngestd, false, ""},
		{"a mosquitto.conf read as mosquitto is read", mosquittoConf, spec.KindMosquitto, false, ""},
		{"an empty file is an ingestd config of defaults", "", spec.KindIngestd, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "gateway.conf")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			co, _, err := readConfig(context.Background(), path, tt.kind)
			var ke *KindError
			if !tt.wantErr {
				if err != nil || co == nil || co.Err != nil {
					t.Fatalf("readConfig = %v, %v; want the config read", err, co)
				}
				return
			}
			if !errors.As(err, &ke) {
				t.Fatalf("readConfig error = %v, want a *KindError", err)
			}
			if ke.Likely != tt.wantLikely || ke.Kind != tt.kind || ke.Path != path {
				t.Fatalf("KindError = %+v, want likely %q", ke, tt.wantLikely)
			}
		})
	}
}

func TestAnUnreadableConfigStaysAnObservation(t *testing.T) {
	dir := t.TempDir()
	co, _, err := readConfig(context.Background(), dir, spec.KindIngestd) // a directory: read fails
	if err != nil || co == nil || co.Err == nil {
		t.Fatalf("readConfig = %v, %+v; want an observation with Err", err, co)
	}
}

func FuzzReadConfigKind(f *testing.F) {
	f.Add([]byte(ingestdYAML))
	f.Add([]byte(mosquittoConf))
	f.Add([]byte("listen:\n"))
	f.Add([]byte("listener 1883\nlisten: x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "c")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, kind := range spec.GatewayKinds {
			co, _, err := readConfig(context.Background(), path, kind)
			var ke *KindError
			if err != nil && !errors.As(err, &ke) {
				t.Fatalf("kind %s: error %v is not a *KindError", kind, err)
			}
			if err == nil && co == nil {
				t.Fatalf("kind %s: no observation and no error", kind)
			}
			if ke != nil && ke.Likely == kind {
				t.Fatalf("kind %s: the likely kind is the kind itself", kind)
			}
		}
	})
}
