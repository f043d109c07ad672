package mqtt

import (
	"context"
	"crypto/x509"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
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
	pki, err := testcert.New(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b := mosquittotest.New(t, func(port int, dir string) string {
		return "listener " + itoa(port) + " 127.0.0.1\ncertfile " + pki.CertFile + "\nkeyfile " + pki.KeyFile + "\npassword_file " + dir + "/passwd\n"
	})
	mosquittotest.WritePasswordFile(t, b, "passwd", "auditor", "s3cret-pass")
	b.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Probe(ctx, Spec{URL: b.URL(true), RootCAs: pki.Pool, Username: "auditor", Password: "s3cret-pass", ListenFor: 300 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Anonymous.Outcome != Refused || res.MadeUpCredentials.Outcome != Refused {
		t.Errorf("anonymous %s, made-up %s: want both refused", res.Anonymous.Outcome, res.MadeUpCredentials.Outcome)
	}
	if res.MadeUpCredentials.ReasonCode != 5 && res.MadeUpCredentials.ReasonCode != 4 {
		t.Errorf("made-up credentials code %d, want 4 or 5", res.MadeUpCredentials.ReasonCode)
	}
	if res.Credentials.Outcome != Accepted || res.CredentialsWithheld != "" {
		t.Fatalf("given credentials = %s (%s), withheld %q", res.Credentials.Outcome, res.Credentials.Detail, res.CredentialsWithheld)
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
	t.Run("a CONNACK that refuses the protocol version is recorded as the fact it is: a refusal with its code", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		res, err := Probe(ctx, Spec{URL: "mqtt://" + wrongVersion.Addr().String(), StepTimeout: 300 * time.Millisecond, ListenFor: 100 * time.Millisecond}, nil)
		if err != nil {
			t.Fatal(err)
		}
		st := res.Anonymous
		if st.Outcome != Refused || st.ReasonCode != 1 || !st.Answered || !strings.Contains(st.Detail, "unacceptable protocol version") {
			t.Errorf("anonymous = %s code %d (%q), want refused with code 1 named", st.Outcome, st.ReasonCode, st.Detail)
		}
	})
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
	nothing := mosquittotest.FreePort(t)
	tests := []struct {
		name       string
		version    int
		roots      *x509.CertPool
		plainPort  int
		verifyErr  bool
		plainCheck Outcome
	}{
		{"a broker whose certificate verifies is probed and the chain is recorded as verified", Version311, pki.Pool, 0, false, Skipped},
		{"a certificate from another CA is recorded as a verify error and the access steps still run", Version311, other.Pool, 0, true, Skipped},
		{"a plaintext listener beside the TLS one is found when its port is given", Version311, pki.Pool, plainPort, false, Accepted},
		{"a given plaintext port where nothing listens is recorded as refused", Version311, pki.Pool, nothing, false, Refused},
		{"MQTT 5 over TLS is probed the same way, plaintext listener included", Version5, pki.Pool, plainPort, false, Accepted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := Probe(ctx, Spec{URL: b.URL(true), Version: tc.version, RootCAs: tc.roots, PlaintextPort: tc.plainPort, ListenFor: 300 * time.Millisecond}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !res.TLS || res.TLSVersion == "" {
				t.Errorf("TLS %v version %q", res.TLS, res.TLSVersion)
			}
			if (res.TLSVerifyError != "") != tc.verifyErr {
				t.Errorf("verify error %q, want error %v", res.TLSVerifyError, tc.verifyErr)
			}
			if res.Version != tc.version {
				t.Errorf("version %d, want %d", res.Version, tc.version)
			}
			if res.Anonymous.Outcome != Accepted || res.Wildcard.Outcome != Accepted || res.Sys.Outcome != Accepted {
				t.Errorf("anonymous %s, wildcard %s, $SYS %s: want all accepted", res.Anonymous.Outcome, res.Wildcard.Outcome, res.Sys.Outcome)
			}
			if !res.Wildcard.ProbeMessageSeen {
				t.Errorf("the probe's marker message did not come back over TLS")
			}
			if res.PlaintextListener.Outcome != tc.plainCheck {
				t.Errorf("plaintext check = %s (%s), want %s", res.PlaintextListener.Outcome, res.PlaintextListener.Detail, tc.plainCheck)
			}
		})
	}
}

// watched is a message a watcher received.
type watched struct{ topic, payload string }

// watchTopics subscribes to "#" on addr with a separate MQTT 5 client
// (paho.golang) and returns a function that reports every message received so far.
func watchTopics(t *testing.T, addr string) func() []watched {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var topics []watched
	cli := paho.NewClient(paho.ClientConfig{
		Conn: packets.NewThreadSafeConn(conn),
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			mu.Lock()
			topics = append(topics, watched{pr.Packet.Topic, string(pr.Packet.Payload)})
			mu.Unlock()
			return true, nil
		}},
	})
	if _, err := cli.Connect(ctx, &paho.Connect{ClientID: "hardgate-test-watcher", KeepAlive: 30, CleanStart: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Disconnect(&paho.Disconnect{}) })
	if _, err := cli.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "#", QoS: 0}}}); err != nil {
		t.Fatal(err)
	}
	return func() []watched {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(topics)
	}
}

// Interop: a watcher subscribed to "#" on Debian's Mosquitto sees the probe
// publish only under the configured topic prefix.
func TestProbePublishesOnlyUnderItsTopicPrefix(t *testing.T) {
	b := mosquittotest.New(t, func(port int, dir string) string {
		return "listener " + itoa(port) + " 127.0.0.1\nallow_anonymous true\n"
	})
	b.Start()
	tests := []struct {
		name    string
		version int
		prefix  string
		under   string
	}{
		{"over MQTT 3.1.1 the marker goes under a custom prefix and nowhere else", Version311, "site-7/audit/hardgate", "site-7/audit/hardgate/"},
		{"over MQTT 5 the marker goes under a custom prefix and nowhere else", Version5, "site-7/audit/hardgate", "site-7/audit/hardgate/"},
		{"a trailing slash in the prefix adds no empty level", Version311, "qa/probe/", "qa/probe/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seen := watchTopics(t, b.Addr())
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := Probe(ctx, Spec{URL: b.URL(false), Version: tc.version, TopicPrefix: tc.prefix, AuditID: "audit-7", ListenFor: 300 * time.Millisecond}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Wildcard.ProbeMessageSeen {
				t.Fatalf("the probe's marker did not come back (wildcard %s: %s)", res.Wildcard.Outcome, res.Wildcard.Detail)
			}
			// The marker reached the probe's own "#" subscription; give the
			// watcher the same chance before reading what it saw.
			deadline := time.Now().Add(5 * time.Second)
			for len(seen()) == 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(200 * time.Millisecond)
			got := seen()
			if len(got) == 0 {
				t.Fatal("the watcher saw no message at all, so the test proves nothing")
			}
			for _, m := range got {
				if !strings.HasPrefix(m.topic, tc.under) || strings.Contains(strings.TrimPrefix(m.topic, tc.under), "/") {
					t.Errorf("the probe published on %q, outside one level under %q", m.topic, tc.under)
				}
				if !strings.Contains(m.payload, `"_hardgate_probe":true`) || !strings.Contains(m.payload, `"audit_id":"audit-7"`) {
					t.Errorf("the probe published an unmarked payload on %q: %s", m.topic, m.payload)
				}
			}
		})
	}
}
