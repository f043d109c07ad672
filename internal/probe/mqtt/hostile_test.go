package mqtt

import (
	"context"
	"testing"
	"time"
)

// A broker that keeps sending packets the probe did not ask for must not
// hold a step past its own timeout: each step has one deadline, set when
// it starts, that no packet moves.
func TestHostileBrokerCannotStretchAStep(t *testing.T) {
	const step = 300 * time.Millisecond
	// acceptThen answers the CONNECT with CONNACK 0 and then streams junk.
	acceptThen := func(junk func() []byte) func(c *fakeConn) {
		return func(c *fakeConn) {
			f, err := c.next()
			if err != nil || f.kind() != typeConnect {
				return
			}
			if c.send(connackOK) != nil {
				return
			}
			untilClosed(c, 2*time.Millisecond, junk)
		}
	}
	tests := []struct {
		name  string
		serve func(c *fakeConn)
		// granted: the broker does grant the subscriptions.
		granted bool
	}{
		{"a broker that answers SUBSCRIBE with an endless stream of SUBACKs for other packet ids and PINGRESPs",
			func(c *fakeConn) {
				var id uint16
				acceptThen(func() []byte { id++; return append(suback(id+1000, 0), pingresp...) })(c)
			}, false},
		{"a broker that streams PINGRESPs and never sends a CONNACK",
			func(c *fakeConn) { untilClosed(c, 2*time.Millisecond, func() []byte { return pingresp }) }, false},
		{"a broker that accepts and then streams PINGRESPs instead of a SUBACK",
			acceptThen(func() []byte { return pingresp }), false},
		{"a broker that grants every SUBSCRIBE amid an endless flood of PUBLISHes, never echoing the markers",
			grantAmidFlood, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newFakeBroker(t, nil, tc.serve)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			res, err := Probe(ctx, Spec{URL: b.url(false), StepTimeout: step, ListenFor: 100 * time.Millisecond}, nil)
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			// At most three steps time out in turn (two CONNECTs, or a
			// SUBSCRIBE, after which the session is dropped, or the second
			// connection's wait for its marker), plus one listen; the rest
			// answers at once. One second of slack for a loaded machine.
			if limit := 3*step + 100*time.Millisecond + time.Second; took > limit {
				t.Errorf("the probe took %s against a broker that streams junk, want at most %s", took.Round(time.Millisecond), limit)
			}
			if tc.granted {
				if cc := res.CrossClient; cc.Outcome != Refused || res.Wildcard.Foreign == 0 {
					t.Errorf("cross-client = %s (%s), %d foreign messages: want the marker unconfirmed and the flood counted", cc.Outcome, cc.Detail, res.Wildcard.Foreign)
				}
				return
			}
			for name, s := range map[string]Step{"wildcard": res.Wildcard.Step, "$SYS": res.Sys.Step} {
				if s.Outcome == Accepted {
					t.Errorf("%s = accepted against a broker that never answered it", name)
				}
			}
		})
	}
}

// grantAmidFlood accepts the CONNECT, answers each SUBSCRIBE with its
// SUBACK and meanwhile streams PUBLISH packets on a topic of its own.
func grantAmidFlood(c *fakeConn) {
	f, err := c.next()
	if err != nil || f.kind() != typeConnect || c.send(connackOK) != nil {
		return
	}
	flood := packet(typePublish<<4, append(appendString(nil, "junk/flood"), "x"...))
	go stream(c, 2*time.Millisecond, func() []byte { return flood })
	for {
		f, err := c.next()
		if err != nil {
			return
		}
		if f.kind() == typeSubscribe && len(f.body) >= 2 {
			if c.send(suback(uint16(f.body[0])<<8|uint16(f.body[1]), 0)) != nil {
				return
			}
		}
	}
}
