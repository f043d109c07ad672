package mqtt

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/server/testcert"
	"github.com/hardgate/hardgate/internal/probe/mosquitto/mosquittotest"
)

// Interop: on a Debian Mosquitto without any traffic, the second
// connection's marker decides whether "#" reads other clients' messages.
func TestCrossClientReadsAreDecidedWithoutTraffic(t *testing.T) {
	anonymousBroker := func(acl string) *mosquittotest.Broker {
		b := mosquittotest.New(t, func(port int, dir string) string {
			conf := "listener " + itoa(port) + " 127.0.0.1\nallow_anonymous true\n"
			if acl != "" {
				conf += "acl_file " + dir + "/acl\n"
			}
			return conf
		})
		if acl != "" {
			b.WriteFile("acl", acl)
		}
		b.Start()
		return b
	}
	tests := []struct {
		name    string
		broker  *mosquittotest.Broker
		version int
		outcome Outcome
		seen    bool
	}{
		{"an open broker delivers the second connection's marker to the first one's # (MQTT 3.1.1)", anonymousBroker(""), Version311, Accepted, true},
		{"an open broker delivers the second connection's marker to the first one's # (MQTT 5)", anonymousBroker(""), Version5, Accepted, true},
		{"an ACL that lets anonymous clients read the whole probe prefix delivers it too", anonymousBroker("topic readwrite hardgate/probe/#\n"), Version311, Accepted, true},
		{"an ACL that gives each client only its own topic delivers the marker to its publisher alone", anonymousBroker("pattern readwrite hardgate/probe/%c\n"), Version311, Accepted, false},
		{"an ACL that lets clients read everything but write nothing refuses the marker: undecided", anonymousBroker("topic read #\n"), Version311, Refused, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := Probe(ctx, Spec{URL: tc.broker.URL(false), Version: tc.version, StepTimeout: time.Second, ListenFor: 300 * time.Millisecond}, nil)
			if err != nil {
				t.Fatal(err)
			}
			cc := res.CrossClient
			if res.Wildcard.Outcome != Accepted {
				t.Fatalf("wildcard = %s (%s)", res.Wildcard.Outcome, res.Wildcard.Detail)
			}
			if cc.Outcome != tc.outcome || cc.Seen != tc.seen {
				t.Errorf("cross-client = %s (%s), seen %v; want %s, seen %v", cc.Outcome, cc.Detail, cc.Seen, tc.outcome, tc.seen)
			}
			if res.Wildcard.Foreign != 0 {
				t.Errorf("%d foreign messages on a broker without traffic: the probe's own markers were miscounted (topics %v)", res.Wildcard.Foreign, res.Wildcard.Topics)
			}
			if cc.ClientID == "" || cc.Topic != DefaultTopicPrefix+"/"+cc.ClientID || cc.Exchange.Action != "publish" {
				t.Errorf("cross-client client id %q, topic %q, exchange %+v", cc.ClientID, cc.Topic, cc.Exchange)
			}
		})
	}
}

// Interop: with the spec's credentials, the second connection uses them
// too, over the verified TLS connection only.
func TestCrossClientUsesTheSubscribersIdentity(t *testing.T) {
	pki, err := testcert.New(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b := mosquittotest.New(t, func(port int, dir string) string {
		return "listener " + itoa(port) + " 127.0.0.1\ncertfile " + pki.CertFile + "\nkeyfile " + pki.KeyFile + "\n" +
			"password_file " + dir + "/passwd\nacl_file " + dir + "/acl\n"
	})
	mosquittotest.WritePasswordFile(t, b, "passwd", auditUser, auditPassword)
	b.WriteFile("acl", "user "+auditUser+"\ntopic read #\npattern readwrite hardgate/probe/%c\n")
	b.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Probe(ctx, Spec{URL: b.URL(true), RootCAs: pki.Pool, Username: auditUser, Password: auditPassword, ListenFor: 300 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cc := res.CrossClient
	if cc.Outcome != Accepted || !cc.Seen {
		t.Errorf("cross-client = %s (%s), seen %v: user %s reads # and must see the other connection's marker", cc.Outcome, cc.Detail, cc.Seen, auditUser)
	}
	if cc.Exchange.Username != auditUser || strings.Contains(cc.Exchange.Error, auditPassword) {
		t.Errorf("cross-client exchange %+v", cc.Exchange)
	}
}
