package examples_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/interop"
)

// scriptTimeout bounds one example script; each takes a few seconds.
const scriptTimeout = 90 * time.Second

// TestExampleScripts runs each example's run.sh, the by-hand path of its
// README, end to end on loopback with the binaries the README's build line
// builds, and checks the outcomes the README states. As root (CI) each
// script gets a network namespace of its own, so the fixed ports the
// configs name (8080, 8443, 8883, 4222) cannot clash with anything else on
// the machine and nothing answers on 1883; otherwise it runs on the host's
// loopback when those ports are free.
func TestExampleScripts(t *testing.T) {
	tests := []struct {
		name   string
		script string
		needs  [][2]string // program, Debian package
		ports  []int       // must be free on the host when there is no namespace
		want   []string    // in this order in the output
	}{
		{
			name:   "gateway-hardening: before accepts anonymous JSON and fails red 70, after wants a token, reloads on SIGHUP and passes green 0",
			script: "gateway-hardening/run.sh",
			needs:  [][2]string{{"openssl", "openssl"}, {"curl", "curl"}},
			ports:  []int{8080, 8443},
			want: []string{
				`ok   202: curl -sS -o /dev/null -w %{http_code}\n -H Content-Type: application/json --data {"t":21.5} http://127.0.0.1:8080/v1/ingest`,
				`ok   415: curl -sS -o /dev/null -w %{http_code}\n --data {"t":21.5} http://127.0.0.1:8080/v1/ingest`,
				"ok   exit 1: hardgate audit --target examples/targets/before.yaml --out before.json",
				`ok   output has "Status: FAIL   Posture: red   Risk score: 70"`,
				"ok   401: curl -sS -o /dev/null -w %{http_code}\\n --cacert pki/server.pem -H Content-Type: application/json",
				"ok   202: curl -sS -o /dev/null -w %{http_code}\\n --cacert pki/server.pem -H Authorization: Bearer REDACTED -H Content-Type: application/json",
				"ok   401: curl -sS -o /dev/null -w %{http_code}\\n --cacert pki/server.pem -H Authorization: Bearer REDACTED",
				"ok   https://127.0.0.1:8443/metrics has a line matching ^ingestd_tokens 2$",
				"ok   exit 0: hardgate audit --target examples/targets/after.yaml --out after.json",
				`ok   output has "Status: PASS   Posture: green   Risk score: 0"`,
				"ok   exit 0: hardgate audit --url https://127.0.0.1:8443/v1/ingest --ca pki/server.pem --token-env HARDGATE_TOKEN",
				"ok   exit 0: hardgate diff before.json after.json --format md --out delta.md",
				"ok   exit 0: hardgate audit --target examples/targets/after.yaml --baseline after.json",
				`ok   output has "FAIL    red      70    4"`,
			},
		},
		{
			name:   "mqtt: from an empty folder, a consumer receives a device's telemetry and the broker audit passes",
			script: "mqtt/run.sh",
			needs: [][2]string{{"mosquitto", "mosquitto"}, {"mosquitto_passwd", "mosquitto"},
				{"mosquitto_sub", "mosquitto-clients"}, {"openssl", "openssl"}, {"curl", "curl"}},
			ports: []int{1883, 8443, 8883},
			want: []string{
				"ok   202: curl",
				`ok   received.txt has "telemetry/sensor-1 "`,
				`ok   received.txt has "device:sensor-1"`,
				`ok   received.txt has "{"temperature_c":21.5}"`,
				"ok   exit 0: hardgate audit --target target.yaml",
				`ok   output has "Findings: 0 (0 critical, 0 high, 0 medium, 0 low, 0 info)"`,
				"ok   exit 0: hardgate audit --gateway-config mosquitto.conf --gateway-kind mosquitto",
			},
		},
		{
			name:   "nats: over TLS with a token, a device's telemetry reaches the stream natsstream created",
			script: "nats/run.sh",
			needs:  [][2]string{{"nats-server", "nats-server"}, {"openssl", "openssl"}, {"curl", "curl"}},
			ports:  []int{4222, 8443},
			want: []string{
				"ok   202: curl",
				"ok   exit 0: natsstream last --server tls://127.0.0.1:4222",
				`ok   output has "telemetry.sensor-1 "`,
				`ok   output has "Ingestd-Device:sensor-1"`,
				`ok   output has "{"temperature_c":21.5}"`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range tc.needs {
				interop.Binary(t, n[0], n[1])
			}
			bin := binaries(t)
			script, err := filepath.Abs(tc.script)
			if err != nil {
				t.Fatal(err)
			}
			name, args, isolated := scriptCommand(t, script, tc.ports)
			if isolated {
				t.Parallel() // a network namespace each: no shared port
			}
			start := time.Now()
			out, code := runCmd(t, scriptTimeout, t.TempDir(), envWith(bin), name, args...)
			t.Logf("%s ran in %.1fs", tc.script, time.Since(start).Seconds())
			if code != 0 {
				t.Fatalf("%s exit %d:\n%s", tc.script, code, out)
			}
			checkInOrder(t, out, append(tc.want, "PASS: every step gave the outcome its README states"))
			if m := tokenPattern.FindString(out); m != "" {
				t.Errorf("the output shows a device token (%.12s...): the script must print it redacted", m)
			}
		})
	}
}

// tokenPattern matches an ingestd device token (igd.<id>.<secret>).
var tokenPattern = regexp.MustCompile(`igd\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{20,}`)

func checkInOrder(t *testing.T, out string, want []string) {
	t.Helper()
	rest := out
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("the output lacks %q (after the previous expected lines):\n%s", w, out)
		}
		rest = rest[i+len(w):]
	}
}

var netns struct {
	once sync.Once
	ok   bool
	why  string
}

// scriptCommand returns how to run script: in a network namespace of its
// own (isolated) when the test runs as root and can make one, else
// directly when the ports it uses are free on the host, else the test is
// skipped (failed under HARDGATE_REQUIRE_INTEROP=1).
func scriptCommand(t *testing.T, script string, ports []int) (name string, args []string, isolated bool) {
	t.Helper()
	netns.once.Do(func() {
		if os.Geteuid() != 0 {
			netns.why = "not root"
			return
		}
		out, err := exec.Command("unshare", "--net", "--", "sh", "-c", "ip link set lo up").CombinedOutput()
		netns.ok = err == nil
		netns.why = fmt.Sprintf("unshare --net: %v %s", err, out)
	})
	if netns.ok {
		return "unshare", []string{"--net", "--", "bash", "-c", `ip link set lo up && exec "$0"`, script}, true
	}
	for _, p := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			interop.Skip(t, fmt.Sprintf("no network namespace (%s) and 127.0.0.1:%d is in use: %v", netns.why, p, err))
		}
		l.Close()
	}
	return "bash", []string{script}, false
}
