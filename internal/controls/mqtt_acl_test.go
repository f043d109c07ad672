package controls

import (
	"errors"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/collect"
	"github.com/hardgate/hardgate/internal/probe/mosquitto"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

const (
	confPath = "/etc/mosquitto/mosquitto.conf"
	aclPath  = "/etc/mosquitto/acl"
)

// aclObservations is a mosquitto config with its acl_file, as collect reads them.
func aclObservations(t *testing.T, conf, acl, probeUser string) *collect.Observations {
	t.Helper()
	c, err := mosquitto.Parse(strings.NewReader(conf+"acl_file "+aclPath+"\n"), confPath)
	if err != nil {
		t.Fatal(err)
	}
	ao := &collect.ACLObservation{Path: aclPath}
	if acl == "" {
		ao.Err = errors.New("open acl_file: permission denied")
	} else if ao.ACL, err = mosquitto.ParseACL(strings.NewReader(acl), aclPath); err != nil {
		t.Fatal(err)
	}
	tgt := &spec.Target{MQTT: spec.MQTT{Username: probeUser}}
	return &collect.Observations{Target: tgt, Config: &collect.ConfigObservation{
		Path: confPath, Kind: spec.KindMosquitto, Mosquitto: c, ACLs: map[string]*collect.ACLObservation{aclPath: ao}}}
}

func TestTheACLFileDecidesNotItsName(t *testing.T) {
	t.Parallel()
	const (
		passwords = "listener 1883\npassword_file /etc/mosquitto/passwd\n"
		anonymous = "listener 1883\nallow_anonymous true\npassword_file /etc/mosquitto/passwd\n"
		open      = "listener 1883\nallow_anonymous true\n"
		wildcard  = "mqtt_broker.wildcard_subscribe_allowed"
		sys       = "mqtt_broker.sys_topics_exposed"
	)
	tests := []struct {
		name, id, conf, acl, user string
		want                      result.Status
		reason                    string
		line                      int
	}{
		{"a pattern that reads # fails: it applies to every client", wildcard, passwords, "user consumer\ntopic read telemetry/#\npattern read #\n", "",
			result.StatusFail, "every authenticated client may read every topic", 3},
		{"a pattern of wildcards only (+/#) fails like #", wildcard, passwords, "pattern read +/#\n", "", result.StatusFail, "pattern read +/#", 1},
		{"the general section reading # fails when anonymous clients are admitted", wildcard, anonymous, "topic read #\nuser a\ntopic read a/#\n", "",
			result.StatusFail, "anonymous clients may read every topic", 1},
		{"the general section reading # is inert when anonymous clients are refused", wildcard, passwords, "topic read #\n", "", result.StatusPass, "no rule lets every authenticated client read", 0},
		{"the probe's user reading # fails", wildcard, passwords, "user auditor\ntopic readwrite #\n", "auditor",
			result.StatusFail, "user auditor (the probe's user) may read every topic", 2},
		{"another user reading # (a consumer by design) passes", wildcard, passwords, "user consumer\ntopic read #\n", "auditor", result.StatusPass, "restricts topics with the acl_file /etc/mosquitto/acl", 0},
		{"a user block reading # fails when no password is checked: anyone claims the name", wildcard, open, "user admin\ntopic read #\n", "",
			result.StatusFail, "user admin (no password is checked: any client may claim the name)", 2},
		{"a deny the broker checks first covers the grant", wildcard, passwords, "pattern deny #\npattern read #\n", "", result.StatusPass, "restricts topics", 0},
		{"per-client patterns pass", wildcard, passwords, "pattern readwrite devices/%c/#\npattern read users/%u/#\n", "auditor", result.StatusPass, "restricts topics", 0},
		{"write-only # passes", wildcard, passwords, "pattern write #\n", "", result.StatusPass, "restricts topics", 0},
		{"an acl_file that could not be read is undecided, never passed", wildcard, passwords, "", "", result.StatusError, "permission denied", 0},
		{"$SYS readable by anonymous clients fails sys_topics_exposed", sys, anonymous, "topic read $SYS/#\n", "", result.StatusFail, "anonymous clients may read the broker's $SYS topics", 1},
		{"$SYS readable by a monitoring user only passes", sys, passwords, "user monitoring\ntopic read $SYS/#\n", "", result.StatusPass, "restricts topics", 0},
		{"# does not reach $SYS", sys, passwords, "pattern read #\n", "", result.StatusPass, "restricts topics", 0},
		{"a per-client $SYS pattern passes", sys, passwords, "pattern write $SYS/broker/connection/%c/state\npattern read $SYS/clients/%c\n", "", result.StatusPass, "restricts topics", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := judge(t, tt.id, aclObservations(t, tt.conf, tt.acl, tt.user))
			if v.Status != tt.want || !strings.Contains(v.Reason, tt.reason) {
				t.Fatalf("verdict %s (%s), want %s with %q", v.Status, v.Reason, tt.want, tt.reason)
			}
			if tt.line == 0 {
				return
			}
			for _, e := range v.Evidence {
				if e.Config != nil && e.Config.File == aclPath && e.Config.Line == tt.line {
					return
				}
			}
			t.Errorf("no evidence cites %s:%d: %+v", aclPath, tt.line, v.Evidence)
		})
	}
}
