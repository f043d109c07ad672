package mqtt

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/server/testcert"
	"github.com/hardgate/hardgate/internal/probe/mosquitto/mosquittotest"
)

const (
	auditUser     = "auditor"
	auditPassword = "s3cret-pass-never-in-clear"
)

// Interop: Debian's Mosquitto logs every accepted CONNECT with its user
// name ("u'auditor'"); a broker the probe must not trust never logs one.
func TestCredentialsGoOnlyOverVerifiedTLS(t *testing.T) {
	pki, err := testcert.New(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	other, err := testcert.New(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	plainPort := mosquittotest.FreePort(t)
	b := mosquittotest.New(t, func(port int, dir string) string {
		return "log_type all\nper_listener_settings false\npassword_file " + dir + "/passwd\n" +
			"listener " + itoa(port) + " 127.0.0.1\ncertfile " + pki.CertFile + "\nkeyfile " + pki.KeyFile + "\n" +
			"listener " + itoa(plainPort) + " 127.0.0.1\n"
	})
	mosquittotest.WritePasswordFile(t, b, "passwd", auditUser, auditPassword)
	b.Start()
	tests := []struct {
		name     string
		url      string
		version  int
		withheld string
	}{
		{"over mqtt:// the credentials are not sent (MQTT 3.1.1)", "mqtt://127.0.0.1:" + itoa(plainPort), Version311, "plaintext"},
		{"over mqtt:// the credentials are not sent (MQTT 5)", "mqtt://127.0.0.1:" + itoa(plainPort), Version5, "plaintext"},
		{"over mqtts:// with a certificate from another CA the credentials are not sent", b.URL(true), Version311, "did not verify"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := Probe(ctx, Spec{URL: tc.url, Version: tc.version, RootCAs: other.Pool, Username: auditUser, Password: auditPassword, ListenFor: 200 * time.Millisecond}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Anonymous.Outcome != Refused {
				t.Fatalf("anonymous = %s (%s): the broker must refuse strangers for this test to mean anything", res.Anonymous.Outcome, res.Anonymous.Detail)
			}
			if res.Credentials.Outcome != Skipped || !strings.Contains(res.CredentialsWithheld, tc.withheld) {
				t.Errorf("credentials = %s (%s), withheld %q: want skipped, withheld because %s", res.Credentials.Outcome, res.Credentials.Detail, res.CredentialsWithheld, tc.withheld)
			}
			if res.Wildcard.Outcome != Skipped || !strings.Contains(res.Wildcard.Detail, "credentials were not sent") {
				t.Errorf("wildcard = %s (%s), want skipped saying the credentials were not sent", res.Wildcard.Outcome, res.Wildcard.Detail)
			}
		})
	}
	if log := b.Log(); strings.Contains(log, "u'"+auditUser+"'") {
		t.Errorf("Mosquitto accepted a CONNECT as %s, so the probe sent the credentials:\n%s", auditUser, log)
	}
	t.Run("with the broker's CA the credentials are sent and accepted (the log shows the test can see them)", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := Probe(ctx, Spec{URL: b.URL(true), RootCAs: pki.Pool, Username: auditUser, Password: auditPassword, ListenFor: 200 * time.Millisecond}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Credentials.Outcome != Accepted {
			t.Fatalf("credentials = %s (%s)", res.Credentials.Outcome, res.Credentials.Detail)
		}
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(b.Log(), "u'"+auditUser+"'") {
			if time.Now().After(deadline) {
				t.Fatalf("Mosquitto never logged the accepted CONNECT as %s:\n%s", auditUser, b.Log())
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// A loopback server records every byte it receives: neither the password
// nor the user name reaches a plaintext listener or a TLS listener whose
// certificate does not verify, whatever it answers.
func TestCredentialsNeverReachAnUntrustedBroker(t *testing.T) {
	pki, err := testcert.New(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	other, err := testcert.New(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(pki.CertFile, pki.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	// refuseAnonymous answers CONNACK 5 to a CONNECT without a user name
	// and CONNACK 0 to any other, so that sending credentials would pay.
	refuseAnonymous := func(c *fakeConn) {
		f, err := c.next()
		if err != nil || f.kind() != typeConnect {
			return
		}
		if len(f.body) > 7 && f.body[7]&0x80 == 0 {
			_ = c.send([]byte{typeConnack << 4, 2, 0, 5})
			return
		}
		_ = c.send(connackOK)
		for {
			f, err := c.next()
			if err != nil {
				return
			}
			if f.kind() == typeSubscribe && len(f.body) >= 2 {
				_ = c.send(suback(uint16(f.body[0])<<8|uint16(f.body[1]), 0))
			}
		}
	}
	tests := []struct {
		name string
		tls  *tls.Config
	}{
		{"a plaintext listener never sees them", nil},
		{"a TLS listener whose certificate does not verify never sees them", &tls.Config{Certificates: []tls.Certificate{cert}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newFakeBroker(t, tc.tls, refuseAnonymous)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := Probe(ctx, Spec{URL: b.url(tc.tls != nil), RootCAs: other.Pool, Username: auditUser, Password: auditPassword,
				StepTimeout: time.Second, ListenFor: 100 * time.Millisecond}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.MadeUpCredentials.Outcome != Accepted {
				t.Fatalf("made-up credentials = %s (%s): the server did not see the probe's CONNECTs", res.MadeUpCredentials.Outcome, res.MadeUpCredentials.Detail)
			}
			for _, secret := range []string{auditPassword, auditUser} {
				if b.saw(secret) {
					t.Errorf("the server received %q", secret)
				}
			}
			if res.Credentials.Outcome != Skipped || res.CredentialsWithheld == "" {
				t.Errorf("credentials = %s, withheld %q: want skipped with a reason", res.Credentials.Outcome, res.CredentialsWithheld)
			}
		})
	}
}
