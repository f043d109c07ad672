package main

import (
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/pki"
	"github.com/hardgate/hardgate/internal/probe/mosquitto/mosquittotest"
	"github.com/hardgate/hardgate/internal/result"
)

// Interop: --mqtt-username and --mqtt-password-env give the MQTT probe an
// ordinary client's account, as mqtt.username and mqtt.password_env do in
// a target spec, so what an authenticated client may read is judged (with
// the broker's config, which shows the ACL).
func TestMQTTUsernameQuickFlags(t *testing.T) {
	files, err := pki.WriteFiles(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Real credentials go only over mqtts:// that verifies against --ca.
	b := mosquittotest.New(t, func(port int, dir string) string {
		return "listener " + strconv.Itoa(port) + " 127.0.0.1\ncafile " + files.CA + "\ncertfile " + files.Cert + "\nkeyfile " + files.Key +
			"\npassword_file " + dir + "/passwd\nacl_file " + dir + "/acl\n"
	})
	mosquittotest.WritePasswordFile(t, b, "passwd", "reader", "reader-pass")
	b.WriteFile("acl", "pattern readwrite hardgate/probe/%c\n")
	b.Start()
	t.Setenv("HG_MQTT_READER_PASSWORD", "reader-pass")
	const wildcardID = "mqtt_broker.wildcard_subscribe_allowed"
	audit := func(t *testing.T, extra ...string) *result.Result {
		t.Helper()
		out := filepath.Join(t.TempDir(), "result.json")
		args := append([]string{"audit", "--timeout", "2s", "--mqtt-url", b.URL(true), "--ca", files.CA, "--out", out, "--format", "json",
			"--gateway-config", b.Conf, "--gateway-kind", "mosquitto"}, extra...)
		if code, stdout, stderr := runHardgate(t, args...); code == exitUsage {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
		return readResultFile(t, out)
	}
	// subscribedAs lists the users the wildcard check subscribed as.
	subscribedAs := func(res *result.Result) []string {
		var users []string
		for _, c := range res.Controls {
			for _, e := range c.Evidence {
				if c.ID == wildcardID && e.MQTT != nil && e.MQTT.Action == "subscribe" && e.MQTT.Username != "" {
					users = append(users, e.MQTT.Username)
				}
			}
		}
		return users
	}
	without := audit(t)
	with := audit(t, "--mqtt-username", "reader", "--mqtt-password-env", "HG_MQTT_READER_PASSWORD")
	if got := statusOf(with, wildcardID); got != result.StatusPass {
		t.Errorf("with the account, %s = %s, want pass (the ACL keeps each client to its own probe topic): %s", wildcardID, got, reasonOf(with, wildcardID))
	}
	if users := subscribedAs(with); !slices.Contains(users, "reader") {
		t.Errorf("with the account, the wildcard check subscribed as %q, want reader", users)
	}
	if users := subscribedAs(without); len(users) > 0 {
		t.Errorf("without the account, the wildcard check subscribed as %q", users)
	}
	for _, c := range with.Controls {
		for _, e := range c.Evidence {
			if strings.Contains(e.Summary, "reader-pass") || (e.MQTT != nil && strings.Contains(e.MQTT.Error+e.MQTT.Outcome, "reader-pass")) {
				t.Errorf("%s: the password is in the evidence", c.ID)
			}
		}
	}
}

func TestMQTTAccountFlagsAreCheckedLikeTheSpec(t *testing.T) {
	tests := []struct {
		name, want string
		args       []string
	}{
		{"a password variable without a user names both flags", "--mqtt-username: mqtt.username: required when mqtt.password_env is set",
			[]string{"--mqtt-url", "mqtt://127.0.0.1:1883", "--mqtt-password-env", "MQTT_PASSWORD"}},
		{"the password itself is refused and never printed", "--mqtt-password-env: mqtt.password_env: must be an environment variable name",
			[]string{"--mqtt-url", "mqtt://127.0.0.1:1883", "--mqtt-username", "u", "--mqtt-password-env", "s3cret!pass"}},
		{"a user without a broker names --mqtt-url", "--mqtt-url: mqtt.urls: required when other mqtt settings are given",
			[]string{"--url", "https://127.0.0.1:8443/v1/ingest", "--mqtt-username", "u"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"audit"}, tt.args...)...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) || strings.Contains(stderr, "s3cret!pass") {
				t.Fatalf("exit %d: %s", code, stderr)
			}
		})
	}
}

var versionLine = regexp.MustCompile(`^hardgate \S+ \(commit \S+, [^,]+, go\S+ \S+/\S+\)\n$`)

func TestVersionPrintsCommitAndDate(t *testing.T) {
	_, long, _ := runCLI(t, "--version")
	_, word, _ := runCLI(t, "version")
	if !versionLine.MatchString(long) || long != word {
		t.Fatalf("--version printed %q and version %q; want one line with the commit and the date", long, word)
	}
}

func TestReportOnlyFailed(t *testing.T) {
	files := writeResultFiles(t)
	const failed, passed = "ingest_auth.unauthenticated_ingest_allowed", "gateway_config_guardrails.tls_minimum_below_1_2"
	for _, format := range []string{"md", "html", "junit", "sarif", "text"} {
		t.Run(format, func(t *testing.T) {
			code, all, stderr := runCLI(t, "report", files.before, "--format", format)
			if code != exitOK {
				t.Fatal(stderr)
			}
			code, only, stderr := runCLI(t, "report", files.before, "--format", format, "--only-failed")
			if code != exitOK {
				t.Fatal(stderr)
			}
			all, only = strings.ReplaceAll(all, "<wbr>", ""), strings.ReplaceAll(only, "<wbr>", "")
			if !strings.Contains(only, failed) {
				t.Errorf("--only-failed lost the failed control %s", failed)
			}
			if format != "text" && (!strings.Contains(all, passed) || strings.Contains(only, passed)) {
				t.Errorf("the passing control %s: in the full report %v, in --only-failed %v", passed, strings.Contains(all, passed), strings.Contains(only, passed))
			}
		})
	}
	t.Run("json is the whole result and refuses it", func(t *testing.T) {
		if code, _, stderr := runCLI(t, "report", files.before, "--format", "json", "--only-failed"); code != exitUsage || !strings.Contains(stderr, "--only-failed does not apply to --format json") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
}

func reasonOf(res *result.Result, id string) string {
	for _, c := range res.Controls {
		if c.ID == id {
			return c.Reason
		}
	}
	return ""
}
