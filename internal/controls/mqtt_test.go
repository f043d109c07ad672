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

func TestOnlyAnAuthenticationRefusalPassesTheAnonymousControl(t *testing.T) {
	t.Parallel()
	broker := func(version, code int, outcome mqttprobe.Outcome) collect.MQTTObservation {
		st := mqttprobe.Step{Outcome: outcome, Answered: outcome != mqttprobe.Failed, ReasonCode: code, Detail: "CONNACK"}
		return collect.MQTTObservation{URL: "mqtt://127.0.0.1:1883", Result: &mqttprobe.Result{
			Broker: "mqtt://127.0.0.1:1883", Version: version, Anonymous: st, MadeUpCredentials: st,
		}}
	}
	tests := []struct {
		name string
		obs  collect.MQTTObservation
		want result.Status
	}{
		{"CONNACK 0 fails", broker(mqttprobe.Version311, 0, mqttprobe.Accepted), result.StatusFail},
		{"MQTT 3.1.1 code 5 (not authorized) passes", broker(mqttprobe.Version311, 5, mqttprobe.Refused), result.StatusPass},
		{"MQTT 3.1.1 code 4 (bad user name or password) passes", broker(mqttprobe.Version311, 4, mqttprobe.Refused), result.StatusPass},
		{"MQTT 3.1.1 code 1 (protocol version) decides nothing", broker(mqttprobe.Version311, 1, mqttprobe.Refused), result.StatusError},
		{"MQTT 3.1.1 code 3 (server unavailable) decides nothing", broker(mqttprobe.Version311, 3, mqttprobe.Refused), result.StatusError},
		{"MQTT 5 reason 0x87 (not authorized) passes", broker(mqttprobe.Version5, 0x87, mqttprobe.Refused), result.StatusPass},
		{"MQTT 5 reason 0x8A (banned) passes", broker(mqttprobe.Version5, 0x8A, mqttprobe.Refused), result.StatusPass},
		{"MQTT 5 reason 0x84 (unsupported protocol version) decides nothing", broker(mqttprobe.Version5, 0x84, mqttprobe.Refused), result.StatusError},
		{"MQTT 5 code 5 is not an MQTT 3.1.1 refusal and decides nothing", broker(mqttprobe.Version5, 5, mqttprobe.Refused), result.StatusError},
		{"no answer decides nothing", broker(mqttprobe.Version311, 0, mqttprobe.Failed), result.StatusError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, id := range []string{"mqtt_broker.anonymous_access_allowed", "mqtt_broker.credentials_not_verified"} {
				v := judge(t, id, &collect.Observations{Target: &spec.Target{}, MQTT: []collect.MQTTObservation{tt.obs}})
				if v.Status != tt.want {
					t.Errorf("%s = %s (%s), want %s", id, v.Status, v.Reason, tt.want)
				}
			}
		})
	}
}

func TestWithheldCredentialsNeverPassASubscriptionControl(t *testing.T) {
	t.Parallel()
	withheld := "not sent: the broker URL is plaintext (mqtt://)"
	skipped := mqttprobe.Subscription{Step: mqttprobe.Step{Outcome: mqttprobe.Skipped, Detail: "not tested: anonymous clients are refused and the credentials were not sent"}}
	refused := mqttprobe.Step{Outcome: mqttprobe.Refused, Answered: true, ReasonCode: 5, Detail: "CONNACK 5 (not authorized)"}
	obs := collect.MQTTObservation{URL: "mqtt://127.0.0.1:1883", Result: &mqttprobe.Result{
		Broker: "mqtt://127.0.0.1:1883", Version: mqttprobe.Version311, Anonymous: refused, MadeUpCredentials: refused,
		Credentials:         mqttprobe.Step{Outcome: mqttprobe.Skipped, Detail: withheld},
		CredentialsWithheld: withheld, Wildcard: skipped, Sys: skipped,
	}}
	obs.Result.Credentials.Exchange.Username = "auditor"
	for _, id := range []string{"mqtt_broker.wildcard_subscribe_allowed", "mqtt_broker.sys_topics_exposed"} {
		t.Run(id+" is undecided and says why the credentials were not sent", func(t *testing.T) {
			v := judge(t, id, &collect.Observations{Target: &spec.Target{}, MQTT: []collect.MQTTObservation{obs}})
			if v.Status != result.StatusError || !strings.Contains(v.Reason, "not tested as auditor: the credentials were not sent: the broker URL is plaintext") {
				t.Errorf("verdict %s (%s), want error saying the credentials were withheld", v.Status, v.Reason)
			}
		})
	}
}

func TestTheSecondConnectionsMarkerDecidesWildcardReads(t *testing.T) {
	t.Parallel()
	granted := mqttprobe.Subscription{Step: mqttprobe.Step{Outcome: mqttprobe.Accepted, Detail: "granted QoS 0"}, As: "anonymous", ProbeMessageSeen: true}
	accepted := mqttprobe.Step{Outcome: mqttprobe.Accepted, Answered: true, Detail: "CONNACK 0 (accepted)"}
	marker := func(outcome mqttprobe.Outcome, seen bool, detail string) mqttprobe.CrossClient {
		return mqttprobe.CrossClient{Step: mqttprobe.Step{Outcome: outcome, Detail: detail}, ClientID: "hardgate-probe-b", Topic: "hardgate/probe/hardgate-probe-b", Seen: seen}
	}
	traffic := granted
	traffic.Foreign, traffic.Topics = 3, []string{"telemetry/device-1/temp"}
	tests := []struct {
		name   string
		sub    mqttprobe.Subscription
		cc     mqttprobe.CrossClient
		want   result.Status
		reason string
	}{
		{"the second connection's marker arriving on # fails", granted, marker(mqttprobe.Accepted, true, "delivered back"), result.StatusFail, "a client reads other clients' messages"},
		{"a marker seen on # fails even when its publisher never got it back", granted, marker(mqttprobe.Refused, true, "did not come back"), result.StatusFail, "hardgate/probe/hardgate-probe-b"},
		{"another client's traffic on # fails", traffic, marker(mqttprobe.Accepted, false, "delivered back"), result.StatusFail, "telemetry/device-1/temp"},
		{"a marker that reached its publisher and not # passes", granted, marker(mqttprobe.Accepted, false, "delivered back"), result.StatusPass, "deliveries are filtered per client"},
		{"a marker the broker refused decides nothing", granted, marker(mqttprobe.Refused, false, "the broker refused or dropped its PUBLISH"), result.StatusError, "the broker refused or dropped its PUBLISH"},
		{"a second connection the broker refused decides nothing", granted, marker(mqttprobe.Refused, false, "the second connection: CONNACK 5"), result.StatusError, "CONNACK 5"},
		{"a broker that refuses # passes without the marker", mqttprobe.Subscription{Step: mqttprobe.Step{Outcome: mqttprobe.Refused, Detail: "failure 0x80"}, As: "anonymous"}, marker(mqttprobe.Skipped, false, "not run"), result.StatusPass, "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := collect.MQTTObservation{URL: "mqtt://127.0.0.1:1883", Result: &mqttprobe.Result{
				Broker: "mqtt://127.0.0.1:1883", Version: mqttprobe.Version311, Anonymous: accepted, MadeUpCredentials: accepted,
				Wildcard: tt.sub, CrossClient: tt.cc,
			}}
			v := judge(t, "mqtt_broker.wildcard_subscribe_allowed", &collect.Observations{Target: &spec.Target{}, MQTT: []collect.MQTTObservation{obs}})
			if v.Status != tt.want || !strings.Contains(v.Reason, tt.reason) {
				t.Errorf("verdict %s (%s), want %s with %q", v.Status, v.Reason, tt.want, tt.reason)
			}
		})
	}
}
