package poll

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recordingTB is a testing.TB whose Fatalf records the message and ends the
// calling goroutine, as the real one does.
type recordingTB struct {
	testing.TB
	fatal string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls f with a recordingTB in its own goroutine and returns the fatal
// message ("" when f returned normally).
func run(t *testing.T, f func(tb testing.TB)) string {
	t.Helper()
	r := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.fatal
}

// after returns a condition that becomes true on its n-th call, and the
// number of calls so far.
func after(n int64) (func() bool, *atomic.Int64) {
	var calls atomic.Int64
	return func() bool { return calls.Add(1) >= n }, &calls
}

func TestUntil(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		holdsOn   int64 // the call on which the condition first holds; 0 never
		timeout   time.Duration
		wantFatal string
	}{
		{name: "a condition that already holds returns at once", holdsOn: 1, timeout: time.Second},
		{name: "a condition that holds on the fifth check returns then", holdsOn: 5, timeout: 10 * time.Second},
		{name: "a condition that never holds fails the test naming what it waited for", timeout: 30 * time.Millisecond,
			wantFatal: "gave up waiting for the moon after 30ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cond, calls := after(tt.holdsOn)
			if tt.holdsOn == 0 {
				cond = func() bool { calls.Add(1); return false }
			}
			start := time.Now()
			fatal := run(t, func(tb testing.TB) { Until(tb, "the moon", cond, Timeout(tt.timeout)) })
			if fatal != tt.wantFatal {
				t.Fatalf("fatal = %q, want %q", fatal, tt.wantFatal)
			}
			if tt.holdsOn > 0 && calls.Load() != tt.holdsOn {
				t.Errorf("%d checks, want %d (no check after the condition held)", calls.Load(), tt.holdsOn)
			}
			if tt.holdsOn == 0 && time.Since(start) < tt.timeout {
				t.Errorf("gave up after %s, before the timeout %s", time.Since(start), tt.timeout)
			}
		})
	}
}

func TestUntilChecksOftenThenBacksOff(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	start := time.Now()
	run(t, func(tb testing.TB) {
		Until(tb, "nothing", func() bool { calls.Add(1); return false }, Timeout(300*time.Millisecond), Interval(20*time.Millisecond))
	})
	elapsed := time.Since(start)
	// 1+2+4+8+16 ms, then every 20 ms: about 18 checks in 300 ms. A
	// fixed 1 ms pause would make ~300, a fixed 20 ms one ~15 with a
	// 20 ms delay before the second check.
	if n := calls.Load(); n < 5 || n > int64(elapsed/(10*time.Millisecond))+8 {
		t.Errorf("%d checks in %s, want a few more than one per 20 ms", n, elapsed)
	}
}

func TestProgress(t *testing.T) {
	t.Parallel()
	t.Run("a count that keeps growing is waited for past the stall limit", func(t *testing.T) {
		t.Parallel()
		var n atomic.Int64
		count := func() int { return int(n.Add(1)) } // grows on every check
		start := time.Now()
		fatal := run(t, func(tb testing.TB) {
			Progress(tb, "the drain", 1_000_000, func() int {
				if time.Since(start) > 150*time.Millisecond {
					return 1_000_000
				}
				return count()
			}, Timeout(40*time.Millisecond), Interval(5*time.Millisecond))
		})
		if fatal != "" {
			t.Fatalf("failed although the count kept growing: %s", fatal)
		}
	})
	t.Run("a count that stands still fails the test saying how far it got", func(t *testing.T) {
		t.Parallel()
		fatal := run(t, func(tb testing.TB) {
			Progress(tb, "the drain", 10, func() int { return 7 }, Timeout(30*time.Millisecond))
		})
		if !strings.HasPrefix(fatal, "gave up waiting for the drain: 7 of 10, no progress for 30ms") {
			t.Fatalf("fatal = %q", fatal)
		}
	})
}

func TestWithin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cond   func() bool
		cancel bool
		want   bool
	}{
		{name: "true once the condition holds", cond: func() bool { return true }, want: true},
		{name: "false when the deadline passes first", cond: func() bool { return false }},
		{name: "false when the context ends first", cond: func() bool { return false }, cancel: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			timeout := 30 * time.Millisecond
			if tt.cancel {
				timeout = time.Hour // were the context ignored, the test would hang
				cancel()
			}
			if got := Within(ctx, tt.cond, Timeout(timeout)); got != tt.want {
				t.Fatalf("Within = %v, want %v", got, tt.want)
			}
		})
	}
}
