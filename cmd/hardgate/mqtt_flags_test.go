package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/probe/mosquitto/mosquittotest"
	"github.com/hardgate/hardgate/internal/result"
)

// runHardgate runs the CLI in-process and returns its exit code, stdout and stderr.
func runHardgate(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func readResultFile(t *testing.T, path string) *result.Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := result.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func statusOf(res *result.Result, id string) result.Status {
	for _, c := range res.Controls {
		if c.ID == id {
			return c.Status
		}
	}
	return ""
}

// Interop: the --mqtt-url quick flag against Debian's Mosquitto on loopback.
func TestAuditMQTTURLQuickFlag(t *testing.T) {
	open := mosquittotest.New(t, func(port int, dir string) string {
		return "listener " + strconv.Itoa(port) + " 127.0.0.1\nallow_anonymous true\n"
	})
	open.Start()
	closed := mosquittotest.New(t, func(port int, dir string) string {
		return "listener " + strconv.Itoa(port) + " 127.0.0.1\n"
	})
	closed.Start()
	gateway := openGateway(t)

	const anonymousID = "mqtt_broker.anonymous_access_allowed"
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantIngest []string
		wantMQTT   []string
		// want maps control ids to their expected status.
		want map[string]result.Status
		// brokers are the brokers the anonymous_access_allowed evidence cites.
		brokers []string
	}{
		{
			name:     "--mqtt-url alone audits one broker and nothing else",
			args:     []string{"--mqtt-url", open.URL(false)},
			wantCode: exitFindings, wantIngest: []string{}, wantMQTT: []string{open.URL(false)},
			want: map[string]result.Status{
				anonymousID:                                  result.StatusFail,
				"mqtt_broker.plaintext_listener":             result.StatusFail,
				"ingest_auth.unauthenticated_ingest_allowed": result.StatusNotApplicable,
				"transport_tls.certificate_untrusted":        result.StatusNotApplicable,
			},
			brokers: []string{open.URL(false)},
		},
		{
			name:     "--mqtt-url is repeatable and keeps the brokers in the order given",
			args:     []string{"--mqtt-url", closed.URL(false), "--mqtt-url", open.URL(false)},
			wantCode: exitFindings, wantIngest: []string{}, wantMQTT: []string{closed.URL(false), open.URL(false)},
			want:    map[string]result.Status{anonymousID: result.StatusFail},
			brokers: []string{closed.URL(false), open.URL(false)},
		},
		{
			name:     "--mqtt-url with a broker that refuses strangers passes the anonymous control",
			args:     []string{"--mqtt-url", closed.URL(false)},
			wantCode: exitFindings, wantIngest: []string{}, wantMQTT: []string{closed.URL(false)},
			want:    map[string]result.Status{anonymousID: result.StatusPass, "mqtt_broker.plaintext_listener": result.StatusFail},
			brokers: []string{closed.URL(false)},
		},
		{
			name:     "--mqtt-url together with --url audits the ingest path and the broker",
			args:     []string{"--url", gateway + "/v1/ingest", "--mqtt-url", open.URL(false)},
			wantCode: exitFindings, wantIngest: []string{gateway + "/v1/ingest"}, wantMQTT: []string{open.URL(false)},
			want: map[string]result.Status{
				anonymousID: result.StatusFail,
				"ingest_auth.unauthenticated_ingest_allowed": result.StatusFail,
			},
			brokers: []string{open.URL(false)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "result.json")
			args := append([]string{"audit", "--timeout", "2s", "--out", out, "--format", "json"}, tc.args...)
			code, _, stderr := runHardgate(t, args...)
			if code != tc.wantCode {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, tc.wantCode, stderr)
			}
			res := readResultFile(t, out)
			if !slices.Equal(res.Target.IngestURLs, tc.wantIngest) {
				t.Errorf("target ingest_urls = %q, want %q", res.Target.IngestURLs, tc.wantIngest)
			}
			if !slices.Equal(res.Target.MQTTURLs, tc.wantMQTT) {
				t.Errorf("target mqtt_urls = %q, want %q", res.Target.MQTTURLs, tc.wantMQTT)
			}
			if res.Target.Name != "127.0.0.1" {
				t.Errorf("target name = %q, want the first URL's host", res.Target.Name)
			}
			for id, want := range tc.want {
				if got := statusOf(res, id); got != want {
					t.Errorf("%s = %s, want %s", id, got, want)
				}
			}
			var probed []string
			for _, c := range res.Controls {
				if c.ID != anonymousID {
					continue
				}
				for _, e := range c.Evidence {
					if e.MQTT != nil && e.MQTT.Action == "connect" && !slices.Contains(probed, e.MQTT.Broker) {
						probed = append(probed, e.MQTT.Broker)
					}
				}
			}
			slices.Sort(probed)
			if want := slices.Sorted(slices.Values(tc.brokers)); !slices.Equal(probed, want) {
				t.Errorf("%s evidence probed %q, want %q", anonymousID, probed, want)
			}
		})
	}
}

func TestAuditMQTTURLQuickFlagUsageErrors(t *testing.T) {
	target := filepath.Join(t.TempDir(), "target.yaml")
	if err := os.WriteFile(target, []byte("mqtt:\n  urls: [mqtt://127.0.0.1:1883]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"an http URL given to --mqtt-url names the flag and the field", []string{"--mqtt-url", "http://127.0.0.1:1883"}, "--mqtt-url: mqtt.urls[0]: scheme must be mqtt or mqtts"},
		{"the second --mqtt-url is named by its index", []string{"--mqtt-url", "mqtt://127.0.0.1:1883", "--mqtt-url", "mqtt://"}, "--mqtt-url: mqtt.urls[1]: has no host"},
		{"credentials in --mqtt-url are refused", []string{"--mqtt-url", "mqtt://u:p@127.0.0.1:1883"}, "--mqtt-url: mqtt.urls[0]: must not carry credentials"},
		{"a plaintext port out of range names the flag", []string{"--mqtt-url", "mqtts://127.0.0.1:8883", "--mqtt-plaintext-port", "70000"}, "--mqtt-plaintext-port: mqtt.plaintext_port: must be a port from 1 to 65535"},
		{"a plaintext port beside only plaintext URLs is refused", []string{"--mqtt-url", "mqtt://127.0.0.1:1883", "--mqtt-plaintext-port", "1883"}, "--mqtt-plaintext-port: mqtt.plaintext_port: applies to mqtts:// URLs only"},
		{"--mqtt-url and --target exclude each other", []string{"--target", target, "--mqtt-url", "mqtt://127.0.0.1:1883"}, "exclude each other"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runHardgate(t, append([]string{"audit"}, tc.args...)...)
			if code != exitUsage {
				t.Fatalf("exit code %d, want %d; stdout:\n%s\nstderr:\n%s", code, exitUsage, stdout, stderr)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr does not contain %q:\n%s", tc.stderr, stderr)
			}
		})
	}
}
