package mqtt

import (
	"context"
	"crypto/x509"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/server/testcert"
	"github.com/hardgate/hardgate/internal/probe/mosquitto/mosquittotest"
)

func TestProbeAgainstMosquitto(t *testing.T) {
	open := mosquittotest.New(t, func(port int, dir string) string {
		return "listener " + itoa(port) + " 127.0.0.1\nallow_anonymous true\n"
	})
	open.Start()
	closed := mosquittotest.New(t, func(port int, dir string) string {
		return "listener " + itoa(port) + " 127.0.0.1\n"
	})
	closed.Start()

	tests := []struct {
		name      string
		url       string
		version   int
		anonymous Outcome
		anonCode  int
		madeUp    Outcome
		wildcard  Outcome
		sys       Outcome
	}{
		{"an open broker accepts anonymous clients and grants # over MQTT 3.1.1", open.URL(false), Version311, Accepted, 0, Accepted, Accepted, Accepted},
		{"an open broker accepts anonymous clients and grants # over MQTT 5", open.URL(false), Version5, Accepted, 0, Accepted, Accepted, Accepted},
		{"a listener without allow_anonymous refuses anonymous clients with CONNACK 5", closed.URL(false), Version311, Refused, 5, Refused, Skipped, Skipped},
		{"a listener without allow_anonymous refuses anonymous clients with reason 0x87 over MQTT 5", closed.URL(false), Version5, Refused, 0x87, Refused, Skipped, Skipped},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := Probe(ctx, Spec{URL: tc.url, Version: tc.version, ListenFor: 500 * time.Millisecond}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Reachable {
				t.Fatalf("broker not reachable: %+v", res.Anonymous)
			}
			if res.Anonymous.Outcome != tc.anonymous || res.Anonymous.ReasonCode != tc.anonCode {
				t.Errorf("anonymous = %s code %d (%s), want %s code %d", res.Anonymous.Outcome, res.Anonymous.ReasonCode, res.Anonymous.Detail, tc.anonymous, tc.anonCode)
			}
			if res.MadeUpCredentials.Outcome != tc.madeUp {
				t.Errorf("made-up credentials = %s (%s), want %s", res.MadeUpCredentials.Outcome, res.MadeUpCredentials.Detail, tc.madeUp)
			}
			if res.Wildcard.Outcome != tc.wildcard {
				t.Errorf("wildcard = %s (%s), want %s", res.Wildcard.Outcome, res.Wildcard.Detail, tc.wildcard)
			}
			if res.Sys.Outcome != tc.sys {
				t.Errorf("$SYS = %s (%s), want %s", res.Sys.Outcome, res.Sys.Detail, tc.sys)
			}
			if tc.wildcard == Accepted && !res.Wildcard.ProbeMessageSeen {
				t.Errorf("the probe's marker message did not come back on #")
			}
			if tc.sys == Accepted && res.Sys.Messages == 0 {
				t.Errorf("no $SYS message arrived")
			}
			if res.PlaintextListener.Outcome != Accepted {
				t.Errorf("plaintext listener = %s (%s), want accepted", res.PlaintextListener.Outcome, res.PlaintextListener.Detail)
			}
			if len(res.Exchanges) < 4 {
				t.Errorf("only %d exchanges recorded", len(res.Exchanges))
			}
			for _, ex := range res.Exchanges {
				if ex.Broker == "" || ex.Action == "" || ex.Outcome == "" {
					t.Errorf("incomplete exchange %+v", ex)
				}
			}
		})
	}
}

func TestProbeUsesGivenCredentialsToSubscribe(t *testing.T) {
	b := mosquittotest.New(t, func(port int, dir string) string {
		return "listener " + itoa(port) + " 127.0.0.1\npassword_file " + dir + "/passwd\n"
	})
	mosquittotest.WritePasswordFile(t, b, "passwd", "auditor", "s3cret-pass")
	b.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Probe(ctx, Spec{URL: b.URL(false), Username: "auditor", Password: "s3cret-pass", ListenFor: 300 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Anonymous.Outcome != Refused || res.MadeUpCredentials.Outcome != Refused {
		t.Errorf("anonymous %s, made-up %s: want both refused", res.Anonymous.Outcome, res.MadeUpCredentials.Outcome)
	}
	if res.MadeUpCredentials.ReasonCode != 5 && res.MadeUpCredentials.ReasonCode != 4 {
		t.Errorf("made-up credentials code %d, want 4 or 5", res.MadeUpCredentials.ReasonCode)
	}
	if res.Credentials.Outcome != Accepted {
		t.Fatalf("given credentials = %s (%s)", res.Credentials.Outcome, res.Credentials.Detail)
	}
	if res.Wildcard.Outcome != Accepted || res.Wildcard.As != "auditor" {
		t.Errorf("wildcard = %s as %q, want accepted as auditor", res.Wildcard.Outcome, res.Wildcard.As)
	}
	for _, ex := range res.Exchanges {
		if strings.Contains(ex.Error+ex.Outcome+ex.Username, "s3cret-pass") {
			t.Errorf("the password leaked into evidence: %+v", ex)
		}
	}
}

func TestProbeReportsErrorsNeverAcceptance(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold the connection open and say nothing
		}
	}()
	garbage, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer garbage.Close()
	go func() {
		for {
			c, err := garbage.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			c.Close()
		}
	}()
	refused := "127.0.0.1:" + itoa(mosquittotest.FreePort(t))
	wrongVersion, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer wrongVersion.Close()
	go func() {
		for {
			c, err := wrongVersion.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 512)
			_, _ = c.Read(buf)
			_, _ = c.Write([]byte{0x20, 2, 0, 1}) // CONNACK 1: unacceptable protocol version
			c.Close()
		}
	}()

	tests := []struct {
		name string
		url  string
		tls  bool
	}{
		{"a broker that never answers is an error", "mqtt://" + silent.Addr().String(), false},
		{"a server that answers with something else than MQTT is an error", "mqtt://" + garbage.Addr().String(), false},
		{"a closed port is an error", "mqtt://" + refused, false},
		{"a CONNACK that refuses the protocol version is an error, not a refusal of anonymous clients", "mqtt://" + wrongVersion.Addr().String(), false},
		{"a TLS handshake with a plaintext server that says nothing is an error", "mqtts://" + silent.Addr().String(), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := Probe(ctx, Spec{URL: tc.url, StepTimeout: 300 * time.Millisecond, ListenFor: 100 * time.Millisecond}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for name, st := range map[string]Step{"anonymous": res.Anonymous, "made-up": res.MadeUpCredentials} {
				if st.Outcome != Failed || st.Exchange.Error == "" {
					t.Errorf("%s = %s (%q), want error with a message", name, st.Outcome, st.Detail)
				}
			}
			if res.Wildcard.Outcome == Accepted || res.Sys.Outcome == Accepted {
				t.Errorf("subscriptions reported accepted against a broken broker")
			}
			if res.PlaintextListener.Outcome == Accepted && !res.Anonymous.Answered {
				t.Errorf("plaintext listener reported as MQTT")
			}
		})
	}
}

func TestSpecValidation(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
	}{
		{"an http URL is refused", Spec{URL: "http://127.0.0.1:1883"}},
		{"a URL without host is refused", Spec{URL: "mqtt://"}},
		{"an unknown protocol version is refused", Spec{URL: "mqtt://127.0.0.1:1883", Version: 3}},
		{"a wildcard in the probe prefix is refused", Spec{URL: "mqtt://127.0.0.1:1883", TopicPrefix: "probe/#"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Probe(context.Background(), tc.spec, nil); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestProbeOverTLS(t *testing.T) {
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
		return "listener " + itoa(port) + " 127.0.0.1\ncertfile " + pki.CertFile + "\nkeyfile " + pki.KeyFile + "\n" +
			"listener " + itoa(plainPort) + " 127.0.0.1\nallow_anonymous true\n"
	})
	b.Start()
	tests := []struct {
		name       string
		roots      *x509.CertPool
		plainPort  int
		verifyErr  bool
		plainCheck Outcome
	}{
		{"a broker whose certificate verifies is probed and the chain is recorded as verified", pki.Pool, 0, false, Skipped},
		{"a certificate from another CA is recorded as a verify error and the access steps still run", other.Pool, 0, true, Skipped},
		{"a plaintext listener beside the TLS one is found when its port is given", pki.Pool, plainPort, false, Accepted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := Probe(ctx, Spec{URL: b.URL(true), RootCAs: tc.roots, PlaintextPort: tc.plainPort, ListenFor: 300 * time.Millisecond}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !res.TLS || res.TLSVersion == "" {
				t.Errorf("TLS %v version %q", res.TLS, res.TLSVersion)
			}
			if (res.TLSVerifyError != "") != tc.verifyErr {
				t.Errorf("verify error %q, want error %v", res.TLSVerifyError, tc.verifyErr)
			}
			if res.Anonymous.Outcome != Accepted || res.Wildcard.Outcome != Accepted {
				t.Errorf("anonymous %s, wildcard %s: want both accepted", res.Anonymous.Outcome, res.Wildcard.Outcome)
			}
			if res.PlaintextListener.Outcome != tc.plainCheck {
				t.Errorf("plaintext check = %s (%s), want %s", res.PlaintextListener.Outcome, res.PlaintextListener.Detail, tc.plainCheck)
			}
		})
	}
}
