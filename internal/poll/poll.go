// Package poll is the one way tests wait: for a condition to hold, or for a
// count to reach a target while it keeps growing. It checks at short
// intervals that grow from a millisecond to a ceiling (50 ms unless
// changed), so a test goes on as soon as the condition holds, never after a
// fixed sleep, and a long wait costs little CPU. Every wait has a deadline:
// a hang guard that fails the test naming what it waited for, not a timing
// assertion.
//
// Only tests import it, so deadcode lists it unless run with -test.
package poll

import (
	"context"
	"testing"
	"time"
)

// DefaultTimeout is the hang guard of Until and the stall limit of Progress.
const DefaultTimeout = 60 * time.Second

// DefaultInterval is the longest pause between two checks.
const DefaultInterval = 50 * time.Millisecond

// firstInterval is the pause after the first failed check; it doubles up
// to the ceiling.
const firstInterval = time.Millisecond

type settings struct {
	timeout  time.Duration
	interval time.Duration
}

// Option changes a wait's timeout or interval ceiling.
type Option func(*settings)

// Timeout sets the hang guard of Until, the stall limit of Progress and the
// deadline of Within (default DefaultTimeout).
func Timeout(d time.Duration) Option { return func(s *settings) { s.timeout = d } }

// Interval sets the longest pause between two checks (default
// DefaultInterval); use a longer one for a costly check.
func Interval(d time.Duration) Option { return func(s *settings) { s.interval = d } }

func apply(opts []Option) settings {
	s := settings{timeout: DefaultTimeout, interval: DefaultInterval}
	for _, o := range opts {
		o(&s)
	}
	s.interval = max(s.interval, firstInterval)
	return s
}

// wait calls cond until it holds, ctx ends or give reports true; it returns
// whether cond held.
func wait(ctx context.Context, s settings, cond func() bool, give func() bool) bool {
	pause := firstInterval
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	for {
		if cond() {
			return true
		}
		if give() {
			return false
		}
		t.Reset(pause)
		select {
		case <-ctx.Done():
			return cond()
		case <-t.C:
		}
		pause = min(2*pause, s.interval)
	}
}

// Until calls cond until it returns true. When it has not after the timeout
// (DefaultTimeout unless changed), Until fails tb with "gave up waiting for
// <what>" and stops the test.
func Until(tb testing.TB, what string, cond func() bool, opts ...Option) {
	tb.Helper()
	s := apply(opts)
	deadline := time.Now().Add(s.timeout)
	if !wait(context.Background(), s, cond, func() bool { return time.Now().After(deadline) }) {
		tb.Fatalf("gave up waiting for %s after %s", what, s.timeout)
	}
}

// Progress waits until count returns at least want. It fails tb, saying how
// far count got, only when count has not grown for the stall limit
// (DefaultTimeout unless changed by Timeout): a drain whose length depends
// on the machine's load may take long, but never stands still unless
// something is broken.
func Progress(tb testing.TB, what string, want int, count func() int, opts ...Option) {
	tb.Helper()
	s := apply(opts)
	last, lastChange := -1, time.Now()
	n := 0
	cond := func() bool {
		n = count()
		if n != last {
			last, lastChange = n, time.Now()
		}
		return n >= want
	}
	if !wait(context.Background(), s, cond, func() bool { return time.Since(lastChange) > s.timeout }) {
		tb.Fatalf("gave up waiting for %s: %d of %d, no progress for %s", what, n, want, s.timeout)
	}
}

// Within reports whether cond held before the timeout (DefaultTimeout
// unless changed) or ctx ended, for a caller that decides itself what a
// condition that never held means.
func Within(ctx context.Context, cond func() bool, opts ...Option) bool {
	s := apply(opts)
	deadline := time.Now().Add(s.timeout)
	return wait(ctx, s, cond, func() bool { return time.Now().After(deadline) })
}
