package audit

import (
	"context"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/server/testcert"
	"github.com/hardgate/hardgate/internal/interop"
	"github.com/hardgate/hardgate/internal/probe/mosquitto/mosquittotest"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

const (
	anonymousID  = "mqtt_broker.anonymous_access_allowed"
	credentialID = "mqtt_broker.credentials_not_verified"
	wildcardID   = "mqtt_broker.wildcard_subscribe_allowed"
	sysID        = "mqtt_broker.sys_topics_exposed"
	plaintextID  = "mqtt_broker.plaintext_listener"
)

// mqttTarget audits the broker b at url, with its config when withConfig.
func mqttTarget(b *mosquittotest.Broker, url string, withConfig bool) *spec.Target {
	t := &spec.Target{Name: "broker", MQTT: spec.MQTT{URLs: []string{url}, ListenFor: spec.Duration(time.Second)}}
	if withConfig {
		t.Gateway = spec.Gateway{ConfigFile: b.Conf, Kind: spec.KindMosquitto}
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
		if len(res.Target.ConfigFiles) != 1 || res.Target.ConfigFiles[0].Kind != spec.KindMosquitto || len(res.Target.ConfigFiles[0].SHA256) != 64 {
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
		// Each client may use its own probe topic (hardgate/probe/<client
		// id>) and nobody reads another client's: the probe's second
		// connection proves it without relying on the device's traffic.
		b.WriteFile("acl", "pattern readwrite hardgate/probe/%c\n\nuser device-1\ntopic write telemetry/device-1/#\n")
		b.Start()
		stop := publishTelemetry(t, b, "--cafile", pki.CAFile, "-u", "device-1", "-P", "device-pass")
		defer stop()

		t.Setenv("HG_MQTT_AUDITOR_PASSWORD", "auditor-pass")
		// The config has no plaintext listener: the plaintext CONNECT goes to
		// a port where nothing listens, and is refused.
		noPlaintext := mosquittotest.FreePort(t)
		target := func(withConfig bool, plaintextPort int) *spec.Target {
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

	t.Run("(f) credentials given for a plaintext broker are not sent: the subscriptions are undecided, never passed", func(t *testing.T) {
		b := mosquittotest.New(t, func(port int, dir string) string {
			return "log_type all\nlistener " + strconv.Itoa(port) + " 127.0.0.1\npassword_file " + dir + "/passwd\nacl_file " + dir + "/acl\n"
		})
		mosquittotest.WritePasswordFile(t, b, "passwd", "auditor", "auditor-pass")
		b.WriteFile("acl", "user auditor\ntopic read hardgate/probe/#\n")
		b.Start()
		t.Setenv("HG_MQTT_AUDITOR_PASSWORD", "auditor-pass")
		tgt := mqttTarget(b, b.URL(false), true)
		tgt.MQTT.Username = "auditor"
		tgt.MQTT.PasswordEnv = "HG_MQTT_AUDITOR_PASSWORD"
		res := mustRun(t, tgt)
		logMQTT(t, res)
		wantStatus(t, res, map[string]result.Status{
			anonymousID: result.StatusPass,
			wildcardID:  result.StatusError,
			sysID:       result.StatusError,
		})
		for _, id := range []string{wildcardID, sysID} {
			if got := control(t, res, id).Reason; !strings.Contains(got, "credentials were not sent") || !strings.Contains(got, "plaintext") {
				t.Errorf("%s reason does not say why the credentials were not sent: %s", id, got)
			}
		}
		if strings.Contains(b.Log(), "u'auditor'") {
			t.Errorf("Mosquitto accepted a CONNECT as auditor over plaintext:\n%s", b.Log())
		}
	})

	t.Run("(g) brokers without any traffic: the second probe connection's marker decides wildcard_subscribe_allowed", func(t *testing.T) {
		broker := func(acl string) *mosquittotest.Broker {
			b := mosquittotest.New(t, func(port int, dir string) string {
				return "listener " + strconv.Itoa(port) + " 127.0.0.1\nallow_anonymous true\nacl_file " + dir + "/acl\n"
			})
			b.WriteFile("acl", acl)
			b.Start()
			return b
		}
		tests := []struct {
			name   string
			acl    string
			want   result.Status
			reason string
		}{
			{"every client reads the probe prefix: the other connection's marker arrives on #, a finding",
				"topic readwrite hardgate/probe/#\n", result.StatusFail, "a client reads other clients' messages"},
			{"each client reads only its own topic: the marker reaches its publisher only, a pass",
				"pattern readwrite hardgate/probe/%c\n", result.StatusPass, "deliveries are filtered per client"},
			{"clients may write nothing: the marker is refused, undecided",
				"topic read hardgate/probe/#\n", result.StatusError, "the cross-client test decided nothing"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				b := broker(tc.acl)
				tgt := mqttTarget(b, b.URL(false), false)
				tgt.Timeouts.Request = spec.Duration(time.Second)
				res := mustRun(t, tgt)
				c := control(t, res, wildcardID)
				if c.Status != tc.want || !strings.Contains(c.Reason, tc.reason) {
					t.Errorf("wildcard = %s (%s), want %s with %q", c.Status, c.Reason, tc.want, tc.reason)
				}
				if !findEvidence(c, "mqtt", func(e result.Evidence) bool {
					return e.MQTT.Action == "publish" && strings.HasPrefix(e.MQTT.Topic, "hardgate/probe/")
				}) {
					t.Errorf("no evidence of the second connection's marker: %+v", c.Evidence)
				}
			})
		}
	})

	t.Run("(h) an acl_file whose pattern lets every client read # fails with its file and line, and the broker agrees", func(t *testing.T) {
		pki, err := testcert.New(t.TempDir(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		b := mosquittotest.New(t, func(port int, dir string) string {
			return "listener " + strconv.Itoa(port) + " 127.0.0.1\ncertfile " + pki.CertFile + "\nkeyfile " + pki.KeyFile + "\n" +
				"password_file " + dir + "/passwd\nacl_file " + dir + "/acl\n"
		})
		mosquittotest.WritePasswordFile(t, b, "passwd", "auditor", "auditor-pass")
		acl := b.WriteFile("acl", "# consumers read telemetry\nuser consumer\ntopic read telemetry/#\n\npattern read #\npattern write hardgate/probe/%c\n")
		b.Start()
		t.Setenv("HG_MQTT_AUDITOR_PASSWORD", "auditor-pass")
		for _, withCredentials := range []bool{false, true} {
			name := "from the config alone"
			if withCredentials {
				name = "with the probe's credentials, the broker delivers the second connection's marker too"
			}
			t.Run(name, func(t *testing.T) {
				tgt := mqttTarget(b, b.URL(true), true)
				tgt.MQTT.CAFile = pki.CAFile
				if withCredentials {
					tgt.MQTT.Username, tgt.MQTT.PasswordEnv = "auditor", "HG_MQTT_AUDITOR_PASSWORD"
				} else {
					tgt.MQTT = spec.MQTT{} // no probe, no TLS scan: the config decides
				}
				res := mustRun(t, tgt)
				logMQTT(t, res)
				c := control(t, res, wildcardID)
				if c.Status != result.StatusFail || !strings.Contains(c.Reason, "every authenticated client may read every topic") || !strings.Contains(c.Reason, acl+":5: pattern read #") {
					t.Errorf("wildcard = %s (%s), want a failure citing %s:5", c.Status, c.Reason, acl)
				}
				if !findEvidence(c, "config", func(e result.Evidence) bool {
					return e.Config.File == acl && e.Config.Line == 5 && e.Config.Value == "read #"
				}) {
					t.Errorf("no evidence cites %s:5: %+v", acl, c.Evidence)
				}
				if withCredentials && !strings.Contains(c.Reason, "a client reads other clients' messages") {
					t.Errorf("the probe did not see the broker deliver the other connection's marker: %s", c.Reason)
				}
				if !slices.ContainsFunc(res.Target.ConfigFiles, func(f result.ConfigFile) bool { return f.Path == acl && len(f.SHA256) == 64 }) {
					t.Errorf("the acl_file is not among the config files read: %+v", res.Target.ConfigFiles)
				}
			})
		}
	})

	t.Run("an unreachable broker is an error, never a pass", func(t *testing.T) {
		url := "mqtt://127.0.0.1:" + strconv.Itoa(mosquittotest.FreePort(t))
		tgt := &spec.Target{Name: "gone", MQTT: spec.MQTT{URLs: []string{url}}, Timeouts: spec.Timeouts{Request: spec.Duration(time.Second), Audit: spec.Duration(20 * time.Second)}}
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
