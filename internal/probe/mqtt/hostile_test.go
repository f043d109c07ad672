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
	}{
		{"a broker that answers SUBSCRIBE with an endless stream of SUBACKs for other packet ids and PINGRESPs",
			func(c *fakeConn) {
				var id uint16
				acceptThen(func() []byte { id++; return append(suback(id+1000, 0), pingresp...) })(c)
			}},
		{"a broker that streams PINGRESPs and never sends a CONNACK",
			func(c *fakeConn) { untilClosed(c, 2*time.Millisecond, func() []byte { return pingresp }) }},
		{"a broker that accepts and then streams PINGRESPs instead of a SUBACK",
			acceptThen(func() []byte { return pingresp })},
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
			// At most two CONNECTs and one SUBSCRIBE time out in turn
			// (the session is dropped after a failed SUBSCRIBE); the
			// rest answers at once. One second of slack for a loaded machine.
			if limit := 3*step + time.Second; took > limit {
				t.Errorf("the probe took %s against a broker that streams junk, want at most %s", took.Round(time.Millisecond), limit)
			}
			for name, s := range map[string]Step{"wildcard": res.Wildcard.Step, "$SYS": res.Sys.Step} {
				if s.Outcome == Accepted {
					t.Errorf("%s = accepted against a broker that never answered it", name)
				}
			}
		})
	}
}
