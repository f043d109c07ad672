package controls

import (
	"strings"
	"testing"

	mqttprobe "github.com/hardgate/hardgate/internal/probe/mqtt"

	"github.com/hardgate/hardgate/internal/collect"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

func TestPlaintextListenerNeverPassesFromNothing(t *testing.T) {
	tlsBroker := func(pl mqttprobe.Plaintext) collect.MQTTObservation {
		return collect.MQTTObservation{URL: "mqtts://127.0.0.1:8883", Result: &mqttprobe.Result{Broker: "mqtts://127.0.0.1:8883", TLS: true, PlaintextListener: pl}}
	}
	notChecked := mqttprobe.Plaintext{Outcome: mqttprobe.Skipped, Detail: "no plaintext port given"}
	refused := mqttprobe.Plaintext{Checked: true, Address: "127.0.0.1:1883", Outcome: mqttprobe.Refused}
	answered := mqttprobe.Plaintext{Checked: true, Address: "127.0.0.1:1883", Outcome: mqttprobe.Accepted, Detail: "a broker answered CONNECT in plaintext (code 0)"}
	tests := []struct {
		name   string
		mqtt   []collect.MQTTObservation
		want   result.Status
		reason string
	}{
		{"an mqtts-only target without mqtt.plaintext_port is not applicable and says to set it", []collect.MQTTObservation{tlsBroker(notChecked)}, result.StatusNotApplicable, "set mqtt.plaintext_port"},
		{"a refused plaintext CONNECT on mqtt.plaintext_port passes", []collect.MQTTObservation{tlsBroker(refused)}, result.StatusPass, "nothing listens in plaintext at 127.0.0.1:1883"},
		{"a plaintext CONNECT answered on mqtt.plaintext_port fails", []collect.MQTTObservation{tlsBroker(answered)}, result.StatusFail, "a plaintext MQTT listener answered at 127.0.0.1:1883"},
		{"a pass from another broker names the mqtts broker left unchecked", []collect.MQTTObservation{
			tlsBroker(notChecked),
			{URL: "mqtt://127.0.0.2:1883", Result: &mqttprobe.Result{Broker: "mqtt://127.0.0.2:1883", PlaintextListener: mqttprobe.Plaintext{Checked: true, Address: "127.0.0.2:1883", Outcome: mqttprobe.Refused}}},
		}, result.StatusPass, "no plaintext port was tried beside mqtts://127.0.0.1:8883 (set mqtt.plaintext_port)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := judge(t, "mqtt_broker.plaintext_listener", &collect.Observations{Target: &spec.Target{}, MQTT: tt.mqtt})
			if v.Status != tt.want || !strings.Contains(v.Reason, tt.reason) {
				t.Errorf("verdict %s (%s), want %s with %q", v.Status, v.Reason, tt.want, tt.reason)
			}
		})
	}
}
