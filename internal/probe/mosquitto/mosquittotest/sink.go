package mosquittotest

import (
	"context"
	"crypto/tls"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
)

// Sink is a test subscriber (MQTT 5, QoS 1) that reconnects and
// subscribes again whenever its connection drops. It records each
// message's payload under the value of a user property (the batch id).
// It asks for a persistent session, but Mosquitto 2.0.11 does not restore
// it after a restart, so what is published before the sink is back is
// lost to it: outage tests hold publishers back with a Gate until
// Subscriptions has grown.
type Sink struct {
	addr, user, pass, filter, idProp, id string
	tls                                  *tls.Config

	mu         sync.Mutex
	got        map[string][]string
	subscribed int // successful (re)subscriptions

	ready     chan struct{}
	readyOnce sync.Once
	stopc     chan struct{}
	done      chan struct{}
}

// SinkOptions configure Subscribe.
type SinkOptions struct {
	// Addr is the broker's host:port.
	Addr string
	// TLS, when set, connects over TLS with this config.
	TLS *tls.Config
	// Username and Password, when Username is set, authenticate.
	Username, Password string
	// Filter is the topic filter (QoS 1).
	Filter string
	// IDProperty is the user property that identifies a message.
	IDProperty string
}

// Subscribe connects a Sink and waits (bounded) for its first subscription.
func Subscribe(tb testing.TB, o SinkOptions) *Sink {
	tb.Helper()
	s := &Sink{addr: o.Addr, tls: o.TLS, user: o.Username, pass: o.Password, filter: o.Filter, idProp: o.IDProperty,
		id: "sink-" + strconv.FormatInt(time.Now().UnixNano(), 36), got: map[string][]string{},
		ready: make(chan struct{}), stopc: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	tb.Cleanup(func() { close(s.stopc); <-s.done })
	select {
	case <-s.ready:
	case <-time.After(30 * time.Second):
		tb.Fatal("the test subscriber never connected")
	}
	return s
}

func (s *Sink) run() {
	defer close(s.done)
	first := true
	for {
		select {
		case <-s.stopc:
			return
		default:
		}
		cli, err := s.connect(first)
		if err != nil {
			select {
			case <-s.stopc:
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		first = false
		s.readyOnce.Do(func() { close(s.ready) })
		select {
		case <-cli.Done():
		case <-s.stopc:
			_ = cli.Disconnect(&paho.Disconnect{})
			return
		}
	}
}

func (s *Sink) connect(clean bool) (*paho.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var conn net.Conn
	var err error
	if s.tls != nil {
		conn, err = (&tls.Dialer{Config: s.tls}).DialContext(ctx, "tcp", s.addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		return nil, err
	}
	cli := paho.NewClient(paho.ClientConfig{
		ClientID: s.id,
		Conn:     packets.NewThreadSafeConn(conn),
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			id := ""
			if pr.Packet.Properties != nil {
				id = pr.Packet.Properties.User.Get(s.idProp)
			}
			s.mu.Lock()
			s.got[id] = append(s.got[id], string(pr.Packet.Payload))
			s.mu.Unlock()
			return true, nil
		}},
	})
	expiry := uint32(3600)
	cp := &paho.Connect{ClientID: s.id, KeepAlive: 10, CleanStart: clean, Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}}
	if s.user != "" {
		cp.UsernameFlag, cp.Username, cp.PasswordFlag, cp.Password = true, s.user, true, []byte(s.pass)
	}
	if _, err := cli.Connect(ctx, cp); err != nil {
		conn.Close()
		return nil, err
	}
	if _, err := cli.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: s.filter, QoS: 1}}}); err != nil {
		_ = cli.Disconnect(&paho.Disconnect{})
		return nil, err
	}
	s.mu.Lock()
	s.subscribed++
	s.mu.Unlock()
	return cli, nil
}

// Subscriptions counts the sink's successful subscriptions so far: one at
// the start and one more after every reconnection.
func (s *Sink) Subscriptions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subscribed
}

// Has reports whether every id of want arrived at least once.
func (s *Sink) Has(want map[string]string) bool { return s.Count(want) == len(want) }

// Count is the number of ids of want that arrived at least once.
func (s *Sink) Count(want map[string]string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id := range want {
		if len(s.got[id]) > 0 {
			n++
		}
	}
	return n
}

// Verify fails tb for every id of want that never arrived or arrived with
// another payload (compared without surrounding white space), and returns
// the number of duplicate deliveries.
func (s *Sink) Verify(tb testing.TB, want map[string]string) (duplicates int) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	missing := 0
	for id, body := range want {
		got := s.got[id]
		if len(got) == 0 {
			missing++
			if missing <= 10 {
				tb.Errorf("batch %s never arrived", id)
			}
			continue
		}
		for _, g := range got {
			if strings.TrimSpace(g) != strings.TrimSpace(body) {
				tb.Errorf("batch %s arrived as %q, want %q", id, g, body)
			}
		}
		duplicates += len(got) - 1
	}
	if missing > 0 {
		tb.Errorf("%d of %d batches never arrived", missing, len(want))
	}
	return duplicates
}
