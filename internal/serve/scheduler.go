package serve

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// ErrRunning is returned by RunNow for a target whose audit is running.
var ErrRunning = errors.New("an audit of this target is already running")

// ErrUnknownTarget is returned for a target name not in the fleet.
var ErrUnknownTarget = errors.New("no such target in the fleet")

// runFunc runs one audit of a target; the scheduler calls it on a worker.
type runFunc func(t Target, trigger string, started time.Time)

// slot is the scheduler's state of one target.
type slot struct {
	target  Target
	when    when
	next    time.Time
	trigger string
	running bool
}

// scheduler starts each target's audits at their time: at most limit at
// once, never two of one target, a missed run once.
type scheduler struct {
	mu      sync.Mutex
	slots   map[string]*slot
	order   []string // target names, in fleet order
	sem     chan struct{}
	wake    chan struct{}
	workers sync.WaitGroup
	now     func() time.Time
	jitter  func(max time.Duration) time.Duration
	run     runFunc
}

func newScheduler(targets []Target, sched *Schedule, limit int, now func() time.Time, run runFunc) *scheduler {
	s := &scheduler{
		slots: make(map[string]*slot, len(targets)),
		sem:   make(chan struct{}, limit),
		wake:  make(chan struct{}, 1),
		now:   now,
		run:   run,
		jitter: func(max time.Duration) time.Duration {
			if max <= 0 {
				return 0
			}
			return rand.N(max)
		},
	}
	for _, t := range targets {
		s.slots[t.Name] = &slot{target: t, when: sched.scheduleFor(t)}
		s.order = append(s.order, t.Name)
	}
	return s
}

// plan sets each target's first run from the start of its newest recorded
// run (zero when it never ran).
func (s *scheduler) plan(lastStarts map[string]time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, sl := range s.slots {
		at, trig := sl.when.next(lastStarts[sl.target.Name], now)
		sl.next, sl.trigger = at.Add(s.jitter(sl.when.jitter)), trig
	}
}

// loop starts due runs until ctx ends, then waits for the started ones.
func (s *scheduler) loop(ctx context.Context) {
	defer s.workers.Wait()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := s.startDue(ctx)
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// startDue starts every due target that is not running and returns how
// long until the next one is due.
func (s *scheduler) startDue(ctx context.Context) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	wait := time.Hour
	for _, name := range s.order {
		sl := s.slots[name]
		if sl.running {
			continue
		}
		if !sl.next.After(now) {
			s.start(ctx, sl, sl.trigger)
			continue
		}
		wait = min(wait, sl.next.Sub(now))
	}
	return max(wait, time.Millisecond)
}

// start runs sl on a worker once a place is free; s.mu is held.
func (s *scheduler) start(ctx context.Context, sl *slot, trigger string) {
	sl.running = true
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			s.finish(sl, time.Time{})
			return
		}
		started := s.now()
		s.run(sl.target, trigger, started)
		<-s.sem
		s.finish(sl, started)
	}()
}

// finish plans the next run of sl after a run that started at started
// (zero: it never started).
func (s *scheduler) finish(sl *slot, started time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl.running = false
	if !started.IsZero() {
		at, trig := sl.when.next(started, s.now())
		sl.next, sl.trigger = at.Add(s.jitter(sl.when.jitter)), trig
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// runNow starts an audit of the named target at once (still within the
// concurrency limit), unless one is running.
func (s *scheduler) runNow(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl, ok := s.slots[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownTarget, name)
	}
	if sl.running {
		return fmt.Errorf("%s: %w", name, ErrRunning)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("serve is stopping: %w", ctx.Err())
	}
	s.start(ctx, sl, TriggerManual)
	return nil
}

// slotInfo is what the dashboard shows of a target's schedule.
type slotInfo struct {
	Schedule string
	Next     time.Time
	Running  bool
}

func (s *scheduler) info(name string) slotInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl, ok := s.slots[name]
	if !ok {
		return slotInfo{}
	}
	return slotInfo{Schedule: sl.when.String(), Next: sl.next, Running: sl.running}
}
