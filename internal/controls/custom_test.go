package controls

import (
	"context"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/collect"
	"github.com/hardgate/hardgate/internal/probe/ingestdconf"
	"github.com/hardgate/hardgate/internal/probe/mosquitto"
	"github.com/hardgate/hardgate/internal/result"
)

// withCustom is the embedded catalog with the example custom controls
// (examples/custom-controls) and any extra files.
func withCustom(t *testing.T, extra fstest.MapFS) (*catalog.Catalog, error) {
	t.Helper()
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.AddCustom(os.DirFS("../../examples/custom-controls")); err != nil {
		t.Fatal(err)
	}
	if extra != nil {
		if err := cat.AddCustom(extra); err != nil {
			t.Fatal(err)
		}
	}
	return cat, CheckRegistry(cat)
}

// TestCustomControlsJudgeRealConfigs: the example custom controls, with no
// registration, are judged by the config rule engine against the real
// ingestd configs of the worked example and the real mosquitto.conf of
// examples/mqtt, with the file and line as evidence.
func TestCustomControlsJudgeRealConfigs(t *testing.T) {
	cat, err := withCustom(t, nil)
	if err != nil {
		t.Fatalf("CheckRegistry: %v", err)
	}
	read := func(kind, path string) *collect.Observations {
		co := &collect.ConfigObservation{Path: path, Kind: kind}
		switch kind {
		case "ingestd":
			co.Ingestd, err = ingestdconf.Read(context.Background(), path)
		default:
			co.Mosquitto, err = mosquitto.Load(path)
		}
		if err != nil {
			t.Fatal(err)
		}
		return &collect.Observations{Config: co}
	}
	before := read("ingestd", "../../examples/gateway-hardening/before/ingestd.yaml")
	after := read("ingestd", "../../examples/gateway-hardening/after/ingestd.yaml")
	broker := read("mosquitto", "../../examples/mqtt/mosquitto.conf")
	tests := []struct {
		name string
		obs  *collect.Observations
		id   string
		want result.Status
		line int
	}{
		{"the before ingestd config opens a plaintext listener", before, "custom.plaintext_listener_configured", result.StatusFail, 11},
		{"the after ingestd config does not", after, "custom.plaintext_listener_configured", result.StatusPass, 0},
		{"a mosquitto rule does not apply to an ingestd config", before, "custom.mqtt_connections_unbounded", result.StatusNotApplicable, -1},
		{"the example mosquitto.conf caps no connections", broker, "custom.mqtt_connections_unbounded", result.StatusFail, 0},
		{"the example mosquitto.conf persists messages", broker, "custom.mqtt_persistence_off", result.StatusPass, 21},
		{"an ingestd rule does not apply to a mosquitto.conf", broker, "custom.plaintext_listener_configured", result.StatusNotApplicable, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *result.ControlResult
			for _, cr := range Evaluate(tt.obs, cat, nil) {
				if cr.ID == tt.id {
					got = &cr
				}
			}
			if got == nil || got.Status != tt.want {
				t.Fatalf("%s = %+v, want %s", tt.id, got, tt.want)
			}
			if tt.line >= 0 && (len(got.Evidence) != 1 || got.Evidence[0].Config == nil || got.Evidence[0].Config.Line != tt.line) {
				t.Errorf("evidence %+v, want the config line %d", got.Evidence, tt.line)
			}
		})
	}
}

func TestCheckRegistryRefusesAnIngestdRuleOnAKeyIngestdLacks(t *testing.T) {
	bad := strings.NewReplacer("custom.plaintext_listener_configured", "custom.typo", "key: listen.http", "key: listen.htp")
	data, err := os.ReadFile("../../examples/custom-controls/site-policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	first := string(data)[:strings.Index(string(data), "  - id: custom.mqtt_connections_unbounded")]
	_, err = withCustom(t, fstest.MapFS{"typo.yaml": {Data: []byte(bad.Replace(first))}})
	if err == nil || !strings.Contains(err.Error(), `custom.typo: config.fail_when[0]: key "listen.htp" is not an ingestd setting`) {
		t.Fatalf("CheckRegistry = %v", err)
	}
}
