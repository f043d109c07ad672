package audit

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/server/testcert"
	"github.com/hardgate/hardgate/internal/interop"
	"github.com/hardgate/hardgate/internal/probe/mosquitto/mosquittotest"
	mqttprobe "github.com/hardgate/hardgate/internal/probe/mqtt"
	"github.com/hardgate/hardgate/internal/result"
)

const (
	anonymousID  = "mqtt_broker.anonymous_access_allowed"
	credentialID = "mqtt_broker.credentials_not_verified"
	wildcardID   = "mqtt_broker.wildcard_subscribe_allowed"
	sysID        = "mqtt_broker.sys_topics_exposed"
	plaintextID  = "mqtt_broker.plaintext_listener"
)

// mqttTarget audits the broker b at url, with its config when withConfig.
func mqttTarget(b *mosquittotest.Broker, url string, withConfig bool) *Target {
	t := &Target{Name: "broker", MQTT: MQTTSpec{URLs: []string{url}, ListenFor: Duration(time.Second)}}
	if withConfig {
		t.Gateway = Gateway{ConfigFile: b.Conf, Kind: MosquittoKind}
	}
	return t
}

// logMQTT prints the mqtt_broker verdicts in the test output.
func logMQTT(t *testing.T, res *result.Result) {
	t.Helper()
	for _, c := range res.Controls {
		if strings.HasPrefix(c.ID, "mqtt_broker.") || strings.HasPrefix(c.ID, "transport_tls.") {
			t.Logf("%s: %s: %s", c.ID, c.Status, c.Reason)
		}
	}
}

func findEvidence(c result.ControlResult, kind string, match func(result.Evidence) bool) bool {
	for _, e := range c.Evidence {
		if e.Kind == kind && match(e) {
			return true
		}
	}
	return false
}

// Interop: Debian's Mosquitto 2.0, started by the test on loopback ports.
func TestMosquittoBrokerAudits(t *testing.T) {
	t.Run("(a) no listener line: local-only mode on loopback, anonymous clients allowed", func(t *testing.T) {
		b := mosquittotest.New(t, func(port int, dir string) string {
			return "persistence false\n" // no listener line; the port comes from -p
		})
		b.ExtraArgs = []string{"-p", strconv.Itoa(b.Port)}
		b.Start()
		res := mustRun(t, mqttTarget(b, b.URL(false), true))
		logMQTT(t, res)
		// Expected findings: all five controls fail.
		wantStatus(t, res, map[string]result.Status{
			anonymousID:  result.StatusFail,
			credentialID: result.StatusFail,
			wildcardID:   result.StatusFail,
			sysID:        result.StatusFail,
			plaintextID:  result.StatusFail,
		})
		anon := control(t, res, anonymousID)
		if !findEvidence(anon, "mqtt", func(e result.Evidence) bool {
			return e.MQTT.Action == "connect" && e.MQTT.ReasonCode == 0 && e.MQTT.Outcome == "accepted"
		}) {
			t.Errorf("no CONNACK 0 evidence: %+v", anon.Evidence)
		}
		if !findEvidence(anon, "config", func(e result.Evidence) bool {
			return e.Config.Key == "listener" && strings.Contains(e.Config.Value, "local-only")
		}) {
			t.Errorf("no local-only config evidence: %+v", anon.Evidence)
		}
		if !strings.Contains(anon.Reason, "local-only") {
			t.Errorf("reason does not explain Mosquitto 2's rule: %s", anon.Reason)
		}
		if got := control(t, res, sysID).Reason; !strings.Contains(got, "$SYS/broker") {
			t.Errorf("$SYS reason names no topic: %s", got)
		}
		if len(res.Target.ConfigFiles) != 1 || res.Target.ConfigFiles[0].Kind != MosquittoKind || len(res.Target.ConfigFiles[0].SHA256) != 64 {
			t.Errorf("config files = %+v", res.Target.ConfigFiles)
		}
		if res.Summary.Status != result.AuditFail {
			t.Errorf("summary %s, want FAIL", res.Summary.Status)
		}
	})

	t.Run("(b) a listener without allow_anonymous: anonymous clients refused with CONNACK 5", func(t *testing.T) {
		b := mosquittotest.New(t, func(port int, dir string) string {
			return "listener " + strconv.Itoa(port) + " 127.0.0.1\n"
		})
		b.Start()
		res := mustRun(t, mqttTarget(b, b.URL(false), true))
		logMQTT(t, res)
		// Expected finding: the plaintext listener only. Nobody can connect,
		// so the subscriptions are judged from the config.
		wantStatus(t, res, map[string]result.Status{
			anonymousID:  result.StatusPass,
			credentialID: result.StatusPass,
			wildcardID:   result.StatusPass,
			sysID:        result.StatusPass,
			plaintextID:  result.StatusFail,
		})
		anon := control(t, res, anonymousID)
		if !findEvidence(anon, "mqtt", func(e result.Evidence) bool { return e.MQTT.ReasonCode == 5 && e.MQTT.Outcome == "refused" }) {
			t.Errorf("no CONNACK 5 evidence: %+v", anon.Evidence)
		}
		if !strings.Contains(anon.Reason, "CONNACK 5") {
			t.Errorf("reason does not cite CONNACK 5: %s", anon.Reason)
		}

		t.Run("without the config and without credentials the subscriptions are not applicable, never passed", func(t *testing.T) {
			res := mustRun(t, mqttTarget(b, b.URL(false), false))
			wantStatus(t, res, map[string]result.Status{
				anonymousID: result.StatusPass,
				wildcardID:  result.StatusNotApplicable,
				sysID:       result.StatusNotApplicable,
				plaintextID: result.StatusFail,
			})
			if got := control(t, res, wildcardID).Reason; !strings.Contains(got, "no credentials") {
				t.Errorf("reason = %s", got)
			}
		})
	})

	t.Run("(c) password file, TLS and ACL: every control passes", func(t *testing.T) {
		pki, err := testcert.New(t.TempDir(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		b := mosquittotest.New(t, func(port int, dir string) string {
			return "per_listener_settings false\n" +
				"listener " + strconv.Itoa(port) + " 127.0.0.1\n" +
				"cafile " + pki.CAFile + "\ncertfile " + pki.CertFile + "\nkeyfile " + pki.KeyFile + "\n" +
				"password_file " + dir + "/passwd\nacl_file " + dir + "/acl\n"
		})
		mosquittotest.WritePasswordFile(t, b, "passwd", "auditor", "auditor-pass")
		addUser(t, b.Dir+"/passwd", "device-1", "device-pass")
		b.WriteFile("acl", "user auditor\ntopic readwrite hardgate/probe/#\n\nuser device-1\ntopic write telemetry/device-1/#\n")
		b.Start()
		stop := publishTelemetry(t, b, "--cafile", pki.CAFile, "-u", "device-1", "-P", "device-pass")
		defer stop()

		t.Setenv("HG_MQTT_AUDITOR_PASSWORD", "auditor-pass")
		// The config has no plaintext listener: the plaintext CONNECT goes to
		// a port where nothing listens, and is refused.
		noPlaintext := mosquittotest.FreePort(t)
		target := func(withConfig bool, plaintextPort int) *Target {
			tgt := mqttTarget(b, b.URL(true), withConfig)
			tgt.MQTT.CAFile = pki.CAFile
			tgt.MQTT.Username = "auditor"
			tgt.MQTT.PasswordEnv = "HG_MQTT_AUDITOR_PASSWORD"
			tgt.MQTT.PlaintextPort = plaintextPort
			return tgt
		}
		res := mustRun(t, target(true, noPlaintext))
		logMQTT(t, res)
		// Expected findings: none.
		wantStatus(t, res, map[string]result.Status{
			anonymousID:                           result.StatusPass,
			credentialID:                          result.StatusPass,
			wildcardID:                            result.StatusPass,
			sysID:                                 result.StatusPass,
			plaintextID:                           result.StatusPass,
			"transport_tls.certificate_untrusted": result.StatusPass,
		})
		for _, c := range res.Controls {
			for _, e := range c.Evidence {
				if e.MQTT != nil && strings.Contains(e.MQTT.Error+e.MQTT.Outcome, "auditor-pass") {
					t.Errorf("%s: the password leaked into evidence", c.ID)
				}
			}
		}
		if got := control(t, res, wildcardID).Reason; !strings.Contains(got, "ACL") {
			t.Errorf("wildcard reason = %s", got)
		}
		pl := control(t, res, plaintextID)
		if want := "nothing listens in plaintext at 127.0.0.1:" + strconv.Itoa(noPlaintext); !strings.Contains(pl.Reason, want) || !strings.Contains(pl.Reason, "uses TLS") {
			t.Errorf("plaintext reason = %s, want the refused port and the TLS listener", pl.Reason)
		}

		t.Run("without mqtt.plaintext_port and without the config, plaintext_listener is not applicable, never passed", func(t *testing.T) {
			res := mustRun(t, target(false, 0))
			logMQTT(t, res)
			wantStatus(t, res, map[string]result.Status{
				anonymousID: result.StatusPass,
				plaintextID: result.StatusNotApplicable,
			})
			if got := control(t, res, plaintextID).Reason; !strings.Contains(got, "mqtt.plaintext_port") {
				t.Errorf("reason does not say to set mqtt.plaintext_port: %s", got)
			}
		})
		t.Run("without mqtt.plaintext_port the config's listeners decide", func(t *testing.T) {
			res := mustRun(t, target(true, 0))
			wantStatus(t, res, map[string]result.Status{plaintextID: result.StatusPass})
			if got := control(t, res, plaintextID).Reason; !strings.Contains(got, "uses TLS") {
				t.Errorf("reason = %s", got)
			}
		})
	})

	t.Run("(e) a plaintext listener beside the TLS one, probed over MQTT 5 with mqtt.plaintext_port: every control fails", func(t *testing.T) {
		pki, err := testcert.New(t.TempDir(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		plainPort := mosquittotest.FreePort(t)
		b := mosquittotest.New(t, func(port int, dir string) string {
			return "listener " + strconv.Itoa(port) + " 127.0.0.1\n" +
				"certfile " + pki.CertFile + "\nkeyfile " + pki.KeyFile + "\n" +
				"listener " + strconv.Itoa(plainPort) + " 127.0.0.1\n" +
				"allow_anonymous true\n"
		})
		b.Start()
		stop := publishTelemetry(t, b, "--cafile", pki.CAFile)
		defer stop()
		tgt := mqttTarget(b, b.URL(true), false)
		tgt.MQTT.Version = "5"
		tgt.MQTT.CAFile = pki.CAFile
		tgt.MQTT.PlaintextPort = plainPort
		res := mustRun(t, tgt)
		logMQTT(t, res)
		// Expected findings: all five, from the probe alone, over TLS.
		wantStatus(t, res, map[string]result.Status{
			anonymousID:                           result.StatusFail,
			credentialID:                          result.StatusFail,
			wildcardID:                            result.StatusFail,
			sysID:                                 result.StatusFail,
			plaintextID:                           result.StatusFail,
			"transport_tls.certificate_untrusted": result.StatusPass,
		})
		if got := control(t, res, plaintextID).Reason; !strings.Contains(got, "127.0.0.1:"+strconv.Itoa(plainPort)) {
			t.Errorf("plaintext reason names no plaintext port: %s", got)
		}
		if got := control(t, res, wildcardID).Reason; !strings.Contains(got, "telemetry/device-1/temp") {
			t.Errorf("wildcard reason names no foreign topic: %s", got)
		}
	})

	t.Run("(d) an open listener with device traffic, judged at runtime only: a \"#\" subscription reads it", func(t *testing.T) {
		b := mosquittotest.New(t, func(port int, dir string) string {
			return "listener " + strconv.Itoa(port) + " 127.0.0.1\nallow_anonymous true\n"
		})
		b.Start()
		stop := publishTelemetry(t, b)
		defer stop()
		res := mustRun(t, mqttTarget(b, b.URL(false), false))
		logMQTT(t, res)
		// Expected findings: all five, from the probe alone.
		wantStatus(t, res, map[string]result.Status{
			anonymousID:  result.StatusFail,
			credentialID: result.StatusFail,
			wildcardID:   result.StatusFail,
			sysID:        result.StatusFail,
			plaintextID:  result.StatusFail,
		})
		if got := control(t, res, wildcardID).Reason; !strings.Contains(got, "telemetry/device-1/temp") {
			t.Errorf("wildcard reason names no foreign topic: %s", got)
		}
	})

	t.Run("an unreachable broker is an error, never a pass", func(t *testing.T) {
		url := "mqtt://127.0.0.1:" + strconv.Itoa(mosquittotest.FreePort(t))
		tgt := &Target{Name: "gone", MQTT: MQTTSpec{URLs: []string{url}}, Timeouts: Timeouts{Request: Duration(time.Second), Audit: Duration(20 * time.Second)}}
		res := mustRun(t, tgt)
		wantStatus(t, res, map[string]result.Status{
			anonymousID:  result.StatusError,
			credentialID: result.StatusError,
			wildcardID:   result.StatusError,
			sysID:        result.StatusError,
		})
		if res.Summary.Status != result.AuditInconclusive {
			t.Errorf("summary %s, want INCONCLUSIVE", res.Summary.Status)
		}
	})
}

// addUser appends a user to a mosquitto password file.
func addUser(t *testing.T, file, user, password string) {
	t.Helper()
	bin := interop.Binary(t, "mosquitto_passwd", "mosquitto")
	if out, err := exec.Command(bin, "-b", file, user, password).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v: %s", err, out)
	}
}

// publishTelemetry runs a device publishing to telemetry/device-1/temp
// every 100 ms (Debian's mosquitto_pub, with the extra arguments auth), so
// that a "#" subscription sees traffic unless an ACL filters it.
func publishTelemetry(t *testing.T, b *mosquittotest.Broker, auth ...string) (stop func()) {
	t.Helper()
	bin := interop.Binary(t, "mosquitto_pub", "mosquitto-clients")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			args := append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(b.Port), "-t", "telemetry/device-1/temp", "-m", `{"temp":21.5}`, "-q", "1"}, auth...)
			cmd := exec.CommandContext(ctx, bin, args...)
			_ = cmd.Run()
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() { cancel(); <-done }
}

func TestMQTTSpecValidationNamesTheField(t *testing.T) {
	t.Setenv("HG_MQTT_EMPTY", "")
	ok := []string{"mqtt://127.0.0.1:1883"}
	tests := []struct {
		name    string
		spec    MQTTSpec
		wantErr string
	}{
		{"an http URL is refused", MQTTSpec{URLs: []string{"http://127.0.0.1:1883"}}, `mqtt.urls[0]: scheme must be mqtt or mqtts`},
		{"a URL without host is refused", MQTTSpec{URLs: []string{"mqtt://"}}, "mqtt.urls[0]: has no host"},
		{"credentials in the URL are refused", MQTTSpec{URLs: []string{"mqtt://u:p@127.0.0.1:1883"}}, "must not carry credentials"},
		{"an unknown version is refused", MQTTSpec{URLs: ok, Version: "3.1"}, `mqtt.version: must be "3.1.1" or "5"`},
		{"a password without a username is refused", MQTTSpec{URLs: ok, PasswordEnv: "HG_MQTT_EMPTY"}, "mqtt.username: required"},
		{"an empty password variable is refused", MQTTSpec{URLs: ok, Username: "u", PasswordEnv: "HG_MQTT_EMPTY"}, "mqtt.password_env: the environment variable is unset or empty"},
		{"a wildcard probe prefix is refused", MQTTSpec{URLs: ok, TopicPrefix: "probe/#"}, "mqtt.topic_prefix"},
		{"a missing CA file is refused", MQTTSpec{URLs: ok, CAFile: "/nonexistent/ca.pem"}, "mqtt.ca_file: cannot be read"},
		{"settings without a URL are refused", MQTTSpec{Username: "u"}, "mqtt.urls: required"},
		{"a negative plaintext port is refused", MQTTSpec{URLs: []string{"mqtts://127.0.0.1:8883"}, PlaintextPort: -1}, `mqtt.plaintext_port: must be a port from 1 to 65535 (0 or absent: no plaintext check) (got "-1")`},
		{"a plaintext port over 65535 is refused", MQTTSpec{URLs: []string{"mqtts://127.0.0.1:8883"}, PlaintextPort: 65536}, `mqtt.plaintext_port: must be a port from 1 to 65535 (0 or absent: no plaintext check) (got "65536")`},
		{"a plaintext port without an mqtts URL is refused", MQTTSpec{URLs: ok, PlaintextPort: 1883}, `mqtt.plaintext_port: applies to mqtts:// URLs only`},
		{"a plaintext port without any URL is refused", MQTTSpec{PlaintextPort: 1883}, "mqtt.urls: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tgt := Target{Ingest: Ingest{URLs: []string{"https://127.0.0.1/x"}}, MQTT: tt.spec}
			err := tgt.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate error = %v, want %q", err, tt.wantErr)
			}
		})
	}
	t.Run("a target with only an MQTT broker is valid", func(t *testing.T) {
		tgt := Target{MQTT: MQTTSpec{URLs: ok}}
		if err := tgt.Validate(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a plaintext port beside an mqtts URL is valid", func(t *testing.T) {
		tgt := Target{MQTT: MQTTSpec{URLs: []string{"mqtt://127.0.0.1:1883", "mqtts://127.0.0.1:8883"}, PlaintextPort: 1883}}
		if err := tgt.Validate(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the mqtt section parses strictly", func(t *testing.T) {
		_, err := ParseTarget(strings.NewReader("mqtt:\n  urls: [mqtt://127.0.0.1:1883]\n  user: x\n"), "")
		if err == nil || !strings.Contains(err.Error(), "field user not found") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestPlaintextListenerNeverPassesFromNothing(t *testing.T) {
	tlsBroker := func(pl mqttprobe.Plaintext) MQTTObservation {
		return MQTTObservation{URL: "mqtts://127.0.0.1:8883", Result: &mqttprobe.Result{Broker: "mqtts://127.0.0.1:8883", TLS: true, PlaintextListener: pl}}
	}
	notChecked := mqttprobe.Plaintext{Outcome: mqttprobe.Skipped, Detail: "no plaintext port given"}
	refused := mqttprobe.Plaintext{Checked: true, Address: "127.0.0.1:1883", Outcome: mqttprobe.Refused}
	answered := mqttprobe.Plaintext{Checked: true, Address: "127.0.0.1:1883", Outcome: mqttprobe.Accepted, Detail: "a broker answered CONNECT in plaintext (code 0)"}
	tests := []struct {
		name   string
		mqtt   []MQTTObservation
		want   result.Status
		reason string
	}{
		{"an mqtts-only target without mqtt.plaintext_port is not applicable and says to set it", []MQTTObservation{tlsBroker(notChecked)}, result.StatusNotApplicable, "set mqtt.plaintext_port"},
		{"a refused plaintext CONNECT on mqtt.plaintext_port passes", []MQTTObservation{tlsBroker(refused)}, result.StatusPass, "nothing listens in plaintext at 127.0.0.1:1883"},
		{"a plaintext CONNECT answered on mqtt.plaintext_port fails", []MQTTObservation{tlsBroker(answered)}, result.StatusFail, "a plaintext MQTT listener answered at 127.0.0.1:1883"},
		{"a pass from another broker names the mqtts broker left unchecked", []MQTTObservation{
			tlsBroker(notChecked),
			{URL: "mqtt://127.0.0.2:1883", Result: &mqttprobe.Result{Broker: "mqtt://127.0.0.2:1883", PlaintextListener: mqttprobe.Plaintext{Checked: true, Address: "127.0.0.2:1883", Outcome: mqttprobe.Refused}}},
		}, result.StatusPass, "no plaintext port was tried beside mqtts://127.0.0.1:8883 (set mqtt.plaintext_port)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := evalMQTTPlaintext(&Observations{Target: &Target{}, MQTT: tt.mqtt}, nil)
			if v.Status != tt.want || !strings.Contains(v.Reason, tt.reason) {
				t.Errorf("verdict %s (%s), want %s with %q", v.Status, v.Reason, tt.want, tt.reason)
			}
		})
	}
}
