package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// heldSync replaces q's WAL sync with one that blocks until released.
type heldSync struct {
	entered chan struct{}
	release chan struct{}
	err     error
	once    sync.Once
	mu      sync.Mutex
	syncs   int
}

func holdSync(t *testing.T, q *Queue, err error) *heldSync {
	h := &heldSync{entered: make(chan struct{}, 100), release: make(chan struct{}), err: err}
	q.syncFn = func() error {
		h.entered <- struct{}{}
		<-h.release
		h.mu.Lock()
		h.syncs++
		h.mu.Unlock()
		return h.err
	}
	// Registered after openTest's Close, so it runs first.
	t.Cleanup(h.free)
	return h
}

// free lets every sync through.
func (h *heldSync) free() {
	h.once.Do(func() { close(h.release) })
}

func appendAsync(q *Queue, b Batch) <-chan error {
	c := make(chan error, 1)
	go func() { c <- q.Append(context.Background(), b) }()
	return c
}

// appendOp is an append handed to the committer directly, so that a test
// knows when the committer has taken it (len(q.ops) == 0).
func appendOp(b Batch) *op {
	return &op{batch: &b, size: int64(len(b.Body)), err: make(chan error, 1)}
}

// recordCommits makes q record the size of each group commit.
func recordCommits(q *Queue) func() []int {
	var mu sync.Mutex
	var groups []int
	q.onCommit = func(ci CommitInfo) {
		mu.Lock()
		groups = append(groups, ci.Ops)
		mu.Unlock()
	}
	return func() []int {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(groups)
	}
}

func TestPipelinedGroupCommit(t *testing.T) {
	t.Run("small appends arriving during a WAL sync wait for it and then share one transaction", func(t *testing.T) {
		q := openTest(t, t.TempDir(), 1<<20)
		groups := recordCommits(q)
		h := holdSync(t, q, nil)
		first := appendOp(testBatch(0))
		q.ops <- first
		<-h.entered // the first group is committed, its sync is under way
		commits := q.commits.Load()
		rest := []*op{appendOp(testBatch(1)), appendOp(testBatch(2)), appendOp(testBatch(3))}
		for _, o := range rest {
			q.ops <- o
		}
		waitFor(t, "the committer to take the appends", func() bool { return len(q.ops) == 0 })
		if got := q.commits.Load(); got != commits {
			t.Fatalf("%d transactions committed during the sync for three small appends, want 0", got-commits)
		}
		h.free()
		for i, o := range append(rest, first) {
			if err := <-o.err; err != nil {
				t.Fatalf("append %d: %v", i, err)
			}
		}
		if got := groups(); fmt.Sprint(got) != "[1 3]" {
			t.Fatalf("groups of %v operations, want [1 3]", got)
		}
	})
	t.Run("a large group commits while the last one waits for its WAL sync, and neither is answered before its sync", func(t *testing.T) {
		q := openTest(t, t.TempDir(), 1<<30)
		h := holdSync(t, q, nil)
		commits0 := q.commits.Load()
		first := appendAsync(q, testBatch(1))
		<-h.entered // group 1 committed, its sync is under way
		big := testBatch(2)
		big.Body = fmt.Appendf(nil, "{\"pad\":%q}\n", strings.Repeat("a", pipelineBytes))
		second := appendAsync(q, big)
		waitFor(t, "the second group's commit", func() bool { return q.commits.Load() == commits0+2 })
		select {
		case err := <-first:
			t.Fatalf("the first append was answered (%v) before its WAL sync ended", err)
		case err := <-second:
			t.Fatalf("the second append was answered (%v) before any WAL sync ended", err)
		default:
		}
		h.free()
		for i, c := range []<-chan error{first, second} {
			if err := <-c; err != nil {
				t.Fatalf("append %d: %v", i+1, err)
			}
		}
		got, err := q.Peek(context.Background(), 10)
		if err != nil || len(got) != 2 {
			t.Fatalf("Peek = %d batches, %v; want 2", len(got), err)
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.syncs != 2 {
			t.Fatalf("%d WAL syncs, want 2", h.syncs)
		}
	})
}

func TestFailedSyncStopsWrites(t *testing.T) {
	q := openTest(t, t.TempDir(), 1<<20)
	holdSync(t, q, syscall.EIO).free()
	first := testBatch(1)
	if err := q.Append(context.Background(), first); !errors.Is(err, ErrSyncFailed) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("Append with a failing sync = %v, want ErrSyncFailed wrapping EIO", err)
	}
	commits := q.commits.Load()
	if err := q.Append(context.Background(), testBatch(2)); !errors.Is(err, ErrSyncFailed) {
		t.Fatalf("Append after a failed sync = %v, want ErrSyncFailed", err)
	}
	if err := q.Ack(context.Background(), "x"); !errors.Is(err, ErrSyncFailed) {
		t.Fatalf("Ack after a failed sync = %v, want ErrSyncFailed", err)
	}
	if got := q.commits.Load(); got != commits {
		t.Fatalf("%d transactions committed after the failed sync, want none", got-commits)
	}
	if err := q.Writable(); !errors.Is(err, ErrSyncFailed) {
		t.Fatalf("Writable after a failed sync = %v, want ErrSyncFailed", err)
	}
	// The first batch was committed (maybe not durably); the others never were.
	if st := q.Stats(); st.Bytes != int64(len(first.Body)) {
		t.Fatalf("Stats().Bytes = %d, want %d (the committed batch only)", st.Bytes, len(first.Body))
	}
}

func TestCollectBoundsAGroup(t *testing.T) {
	tests := []struct {
		name      string
		sizes     []int64 // the first op, then the waiting ones
		maxBytes  int64
		wantGroup int
		wantCarry bool
	}{
		{name: "every waiting operation joins while the bytes stay under the bound", sizes: []int64{100, 100, 100}, maxBytes: 1000, wantGroup: 3},
		{name: "the operation that would pass the byte bound starts the next group", sizes: []int64{400, 400, 400, 400}, maxBytes: 1000, wantGroup: 2, wantCarry: true},
		{name: "a first operation larger than the bound goes alone", sizes: []int64{5000, 10}, maxBytes: 1000, wantGroup: 1},
		{name: "acks (no bytes) join a group at the bound's edge", sizes: []int64{999, 0, 0}, maxBytes: 1000, wantGroup: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &Queue{ops: make(chan *op, len(tt.sizes)), maxGroupBytes: tt.maxBytes}
			for _, s := range tt.sizes[1:] {
				q.ops <- &op{size: s}
			}
			group, carry := q.collect(&op{size: tt.sizes[0]})
			if len(group) != tt.wantGroup || (carry != nil) != tt.wantCarry {
				t.Fatalf("collect = %d ops, carry %v; want %d, carry %v", len(group), carry != nil, tt.wantGroup, tt.wantCarry)
			}
		})
	}
	t.Run("a group holds at most maxGroup operations", func(t *testing.T) {
		q := &Queue{ops: make(chan *op, maxGroup+10), maxGroupBytes: 1 << 30}
		for range maxGroup + 10 {
			q.ops <- &op{size: 1}
		}
		if group, _ := q.collect(&op{size: 1}); len(group) != maxGroup {
			t.Fatalf("collect = %d ops, want %d", len(group), maxGroup)
		}
	})
}

func TestGroupsSplitByBytes(t *testing.T) {
	q := openTest(t, t.TempDir(), 1<<30)
	groups := recordCommits(q)
	q.maxGroupBytes = 1000
	newOp := func(i int) *op {
		b := testBatch(i)
		b.Body = fmt.Appendf(nil, "{\"pad\":%q}\n", strings.Repeat("a", 380))
		return appendOp(b)
	}
	// While the first group's sync is held, five ~400-byte appends
	// arrive: under the 1000-byte bound the committer commits them in
	// groups of two and two without waiting for the sync, and keeps the
	// fifth until the sync ends.
	h := holdSync(t, q, nil)
	ops := []*op{newOp(0)}
	q.ops <- ops[0]
	<-h.entered
	commits := q.commits.Load()
	for i := 1; i <= 5; i++ {
		ops = append(ops, newOp(i))
		q.ops <- ops[i]
	}
	waitFor(t, "two more commits during the sync", func() bool { return q.commits.Load() == commits+2 })
	h.free()
	for i, o := range ops {
		if err := <-o.err; err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	if got := groups(); fmt.Sprint(got) != "[1 2 2 1]" {
		t.Fatalf("groups of %v operations, want [1 2 2 1]", got)
	}
}

func TestOnCommitReportsEachGroup(t *testing.T) {
	var mu sync.Mutex
	var infos []CommitInfo
	dir := t.TempDir()
	q, err := Open(Options{Dir: dir, MaxBytes: 1 << 20, OnCommit: func(ci CommitInfo) {
		mu.Lock()
		infos = append(infos, ci)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	b := testBatch(1)
	if err := q.Append(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(infos) != 1 {
		t.Fatalf("OnCommit called %d times for one append, want 1", len(infos))
	}
	ci := infos[0]
	if ci.Ops != 1 || ci.Bytes != int64(len(b.Body)) || ci.Transaction <= 0 || ci.Sync <= 0 || ci.Wait < ci.Sync {
		t.Fatalf("CommitInfo = %+v; want 1 op, %d bytes, positive durations, Wait >= Sync", ci, len(b.Body))
	}
}

func TestWaitLimitBoundsAnAppend(t *testing.T) {
	q, err := Open(Options{Dir: t.TempDir(), MaxBytes: 1 << 20, WaitLimit: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	h := holdSync(t, q, nil)
	start := time.Now()
	if err := q.Append(context.Background(), testBatch(1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Append while the sync hangs = %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Append returned after %s, want about the 50 ms limit", took)
	}
	h.free()
	if err := q.Append(context.Background(), testBatch(2)); err != nil {
		t.Fatalf("Append once the sync is back: %v", err)
	}
}

func TestNewStoreUses8KiBPages(t *testing.T) {
	dir := t.TempDir()
	q := openTest(t, dir, 1<<20)
	var size, ckpt int
	if err := q.wconn.QueryRowContext(context.Background(), "PRAGMA page_size").Scan(&size); err != nil {
		t.Fatal(err)
	}
	if err := q.wconn.QueryRowContext(context.Background(), "PRAGMA wal_autocheckpoint").Scan(&ckpt); err != nil {
		t.Fatal(err)
	}
	if size != pageSize || ckpt != walCheckpointPages {
		t.Fatalf("page_size %d, wal_autocheckpoint %d; want %d and %d", size, ckpt, pageSize, walCheckpointPages)
	}
}
