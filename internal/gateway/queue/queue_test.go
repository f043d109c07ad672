package queue

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTest(tb testing.TB, dir string, maxBytes int64) *Queue {
	tb.Helper()
	q, err := Open(Options{Dir: dir, MaxBytes: maxBytes})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { _ = q.Close() })
	return q
}

func testBatch(i int) Batch {
	return Batch{
		ID:         NewID(time.Now()),
		Device:     fmt.Sprintf("dev-%02d", i%7),
		Records:    2,
		Body:       fmt.Appendf(nil, "{\"seq\":%d,\"t\":21.5}\n{\"seq\":%d,\"t\":21.6}\n", i, i),
		ReceivedAt: time.Unix(1_700_000_000, int64(i)).UTC(),
	}
}

func TestQueueDurableAcrossReopen(t *testing.T) {
	tests := []struct {
		name  string
		count int
		acked int
	}{
		{name: "an empty queue reopens empty", count: 0},
		{name: "every appended batch is there after reopen, content included", count: 25},
		{name: "acknowledged batches stay deleted after reopen", count: 25, acked: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			q, err := Open(Options{Dir: dir, MaxBytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			var want []Batch
			for i := range tt.count {
				b := testBatch(i)
				if err := q.Append(ctx, b); err != nil {
					t.Fatalf("Append: %v", err)
				}
				want = append(want, b)
			}
			var ids []string
			for _, b := range want[:tt.acked] {
				ids = append(ids, b.ID)
			}
			if err := q.Ack(ctx, ids...); err != nil {
				t.Fatalf("Ack: %v", err)
			}
			want = want[tt.acked:]
			if err := q.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}

			q = openTest(t, dir, 1<<20)
			got, err := q.Peek(ctx, 1000)
			if err != nil {
				t.Fatalf("Peek: %v", err)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d batches after reopen, want %d", len(got), len(want))
			}
			var bytesWant int64
			for i := range want {
				if !equalBatch(got[i], want[i]) {
					t.Errorf("batch %d: got %+v, want %+v", i, got[i], want[i])
				}
				bytesWant += int64(len(want[i].Body))
			}
			if st := q.Stats(); st.Batches != len(want) || st.Bytes != bytesWant {
				t.Errorf("Stats = %+v, want %d batches and %d bytes", st, len(want), bytesWant)
			}
		})
	}
}

func equalBatch(a, b Batch) bool {
	return a.ID == b.ID && a.Device == b.Device && a.Records == b.Records &&
		bytes.Equal(a.Body, b.Body) && a.ReceivedAt.Equal(b.ReceivedAt)
}

func TestAppendFull(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		max      int64
		sizes    []int
		wantErrs []error
	}{
		{name: "a batch that fits exactly is accepted", max: 100, sizes: []int{60, 40}, wantErrs: []error{nil, nil}},
		{name: "a batch that would cross the bound is refused", max: 100, sizes: []int{60, 41, 40}, wantErrs: []error{nil, ErrFull, nil}},
		{name: "a batch larger than the bound is refused", max: 100, sizes: []int{101, 1}, wantErrs: []error{ErrFull, nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			q := openTest(t, dir, tt.max)
			var stored []Batch
			for i, n := range tt.sizes {
				b := Batch{ID: NewID(time.Now()), Device: "d", Records: 1, Body: bytes.Repeat([]byte("x"), n)}
				err := q.Append(ctx, b)
				if !errors.Is(err, tt.wantErrs[i]) {
					t.Fatalf("append %d (%d bytes): got %v, want %v", i, n, err, tt.wantErrs[i])
				}
				if err == nil {
					stored = append(stored, b)
				}
			}
			got, err := q.Peek(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(stored) {
				t.Fatalf("queue holds %d batches, want %d (nothing lost, nothing extra)", len(got), len(stored))
			}
			for i := range got {
				if !equalBatch(got[i], stored[i]) {
					t.Errorf("batch %d differs", i)
				}
			}
			if st := q.Stats(); st.Bytes > tt.max || st.MaxBytes != tt.max {
				t.Errorf("Stats = %+v, bound %d", st, tt.max)
			}
		})
	}
}

func TestAppendFullThenAckMakesRoom(t *testing.T) {
	ctx := context.Background()
	q := openTest(t, t.TempDir(), 10)
	first := Batch{ID: NewID(time.Now()), Body: []byte("0123456789")}
	if err := q.Append(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := Batch{ID: NewID(time.Now()), Body: []byte("a")}
	if err := q.Append(ctx, second); !errors.Is(err, ErrFull) {
		t.Fatalf("append to a full queue: got %v, want ErrFull", err)
	}
	if err := q.Ack(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if err := q.Append(ctx, second); err != nil {
		t.Fatalf("append after ack: %v", err)
	}
}

func TestConcurrentAppend(t *testing.T) {
	const writers, each = 50, 20
	ctx := context.Background()
	dir := t.TempDir()
	q, err := Open(Options{Dir: dir, MaxBytes: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		want = map[string][]byte{}
		wg   sync.WaitGroup
	)
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				b := testBatch(w*each + i)
				if err := q.Append(ctx, b); err != nil {
					errs <- err
					continue
				}
				mu.Lock()
				want[b.ID] = b.Body
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Append: %v", err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q = openTest(t, dir, 1<<30)
	got, err := q.Peek(ctx, writers*each+1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != writers*each {
		t.Fatalf("got %d batches, want %d", len(got), writers*each)
	}
	for i, b := range got {
		if !bytes.Equal(want[b.ID], b.Body) {
			t.Errorf("batch %s: body differs from what was appended", b.ID)
		}
		if i > 0 && got[i-1].ID >= b.ID {
			t.Errorf("Peek is not in id order at %d", i)
		}
	}
	if st := q.Stats(); st.Batches != writers*each {
		t.Errorf("Stats.Batches = %d, want %d", st.Batches, writers*each)
	}
}

func TestAppendRules(t *testing.T) {
	ctx := context.Background()
	q := openTest(t, t.TempDir(), 1<<20)
	dup := Batch{ID: NewID(time.Now()), Body: []byte("{}\n")}
	if err := q.Append(ctx, dup); err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		b    Batch
		want error
	}{
		{name: "an id already queued is refused", ctx: ctx, b: dup, want: ErrDuplicate},
		{name: "a canceled context stores nothing", ctx: canceled, b: Batch{ID: NewID(time.Now())}, want: context.Canceled},
		{name: "an empty id is refused", ctx: ctx, b: Batch{Body: []byte("{}")}},
		{name: "an overlong device id is refused", ctx: ctx, b: Batch{ID: "x", Device: strings.Repeat("d", maxDeviceLen+1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := q.Stats()
			err := q.Append(tt.ctx, tt.b)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if after := q.Stats(); after != before {
				t.Errorf("Stats changed from %+v to %+v", before, after)
			}
		})
	}
}

func TestPeekAckNotify(t *testing.T) {
	ctx := context.Background()
	q := openTest(t, t.TempDir(), 1<<20)
	select {
	case <-q.Notify():
		t.Fatal("an empty queue signalled")
	default:
	}
	var ids []string
	for i := range 5 {
		b := testBatch(i)
		if err := q.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, b.ID)
	}
	t.Run("appends are signalled, coalesced into one", func(t *testing.T) {
		select {
		case <-q.Notify():
		default:
			t.Fatal("no signal after Append")
		}
		select {
		case <-q.Notify():
			t.Fatal("a second signal for the same appends")
		default:
		}
	})
	t.Run("peek returns the oldest first and at most max", func(t *testing.T) {
		got, err := q.Peek(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		var gotIDs []string
		for _, b := range got {
			gotIDs = append(gotIDs, b.ID)
		}
		if !slices.Equal(gotIDs, ids[:3]) {
			t.Fatalf("got %v, want %v", gotIDs, ids[:3])
		}
	})
	t.Run("ack deletes known ids and ignores unknown ones", func(t *testing.T) {
		if err := q.Ack(ctx, ids[1], "no-such-id", ids[1]); err != nil {
			t.Fatal(err)
		}
		got, err := q.Peek(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 || got[1].ID != ids[2] {
			t.Fatalf("after ack got %d batches", len(got))
		}
		if st := q.Stats(); st.Batches != 4 {
			t.Errorf("Stats.Batches = %d, want 4", st.Batches)
		}
	})
	t.Run("peek except passes over the skipped ids and keeps id order", func(t *testing.T) {
		// Queued now: ids[0], ids[2], ids[3], ids[4].
		tests := []struct {
			name string
			skip map[string]struct{}
			max  int
			want []string
		}{
			{name: "no skip is a plain peek", max: 2, want: []string{ids[0], ids[2]}},
			{name: "the oldest skipped gives the next ones", skip: set(ids[0]), max: 2, want: []string{ids[2], ids[3]}},
			{name: "skips in the middle are passed over", skip: set(ids[2], ids[3]), max: 5, want: []string{ids[0], ids[4]}},
			{name: "everything skipped gives nothing", skip: set(ids[0], ids[2], ids[3], ids[4]), max: 3},
			{name: "an unknown skipped id changes nothing", skip: set("no-such-id"), max: 1, want: []string{ids[0]}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := q.PeekExcept(ctx, tt.max, tt.skip)
				if err != nil {
					t.Fatal(err)
				}
				var gotIDs []string
				for _, b := range got {
					gotIDs = append(gotIDs, b.ID)
					if len(b.Body) == 0 {
						t.Errorf("batch %s came back without its body", b.ID)
					}
				}
				if !slices.Equal(gotIDs, tt.want) {
					t.Fatalf("got %v, want %v", gotIDs, tt.want)
				}
			})
		}
	})
	t.Run("a queue with batches signals at open", func(t *testing.T) {
		dir := t.TempDir()
		q1 := openTest(t, dir, 1<<20)
		if err := q1.Append(ctx, testBatch(1)); err != nil {
			t.Fatal(err)
		}
		if err := q1.Close(); err != nil {
			t.Fatal(err)
		}
		q2 := openTest(t, dir, 1<<20)
		select {
		case <-q2.Notify():
		default:
			t.Fatal("no signal for batches found at open")
		}
	})
}

func TestClosedQueue(t *testing.T) {
	ctx := context.Background()
	q, err := Open(Options{Dir: t.TempDir(), MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Writable(); err != nil {
		t.Fatalf("Writable on an open queue: %v", err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{name: "append after close fails", call: func() error { return q.Append(ctx, testBatch(1)) }},
		{name: "ack after close fails", call: func() error { return q.Ack(ctx, "x") }},
		{name: "peek after close fails", call: func() error { _, err := q.Peek(ctx, 1); return err }},
		{name: "writable reports the closed store", call: q.Writable},
		{name: "a second close fails", call: q.Close},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, ErrClosed) {
				t.Fatalf("got %v, want ErrClosed", err)
			}
		})
	}
}

func TestOpenRefusesCorruptStore(t *testing.T) {
	const pageSize = 4096
	tests := []struct {
		name    string
		corrupt func(t *testing.T, path string, data []byte) []byte
	}{
		{name: "a file of garbage is refused", corrupt: func(t *testing.T, path string, data []byte) []byte {
			return bytes.Repeat([]byte("not a queue store "), 1000)
		}},
		{name: "a file with its header wiped is refused", corrupt: func(t *testing.T, path string, data []byte) []byte {
			clear(data[:100])
			return data
		}},
		{name: "a file with its data pages overwritten is refused", corrupt: func(t *testing.T, path string, data []byte) []byte {
			for i := pageSize; i < len(data); i++ {
				data[i] = byte(i*31 + 7)
			}
			return data
		}},
		{name: "a file with the root page of its batches scrambled is refused by the integrity check", corrupt: func(t *testing.T, path string, data []byte) []byte {
			pg := batchesRootPage(t, path)
			start := (pg-1)*pageSize + 12 // keep the b-tree page header
			for i := start; i < pg*pageSize; i++ {
				data[i] ^= byte(i*13 + 5)
			}
			return data
		}},
		{name: "a truncated file is refused", corrupt: func(t *testing.T, path string, data []byte) []byte {
			return data[:pageSize+100]
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			q, err := Open(Options{Dir: dir, MaxBytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 50 {
				b := testBatch(i)
				b.Body = bytes.Repeat(b.Body, 4)
				if err := q.Append(context.Background(), b); err != nil {
					t.Fatal(err)
				}
			}
			if err := q.Close(); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, FileName)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			bad := tt.corrupt(t, path, data)
			if err := os.WriteFile(path, bad, 0o600); err != nil {
				t.Fatal(err)
			}

			q, err = Open(Options{Dir: dir, MaxBytes: 1 << 20})
			if err == nil {
				_ = q.Close()
				t.Fatal("Open accepted a corrupt store")
			}
			t.Logf("Open: %v", err)
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("error does not wrap ErrCorrupt: %v", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error does not name the file %s: %v", path, err)
			}
			after, rerr := os.ReadFile(path)
			if rerr != nil || !bytes.Equal(after, bad) {
				t.Errorf("Open modified the corrupt file (read error %v)", rerr)
			}
		})
	}
}

func TestOpenRefusesLockedStore(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir, 1<<20)
	q, err := Open(Options{Dir: dir, MaxBytes: 1 << 20})
	if err == nil {
		_ = q.Close()
		t.Fatal("a second Open of a store in use succeeded")
	}
	if !strings.Contains(err.Error(), "locked") {
		t.Errorf("error does not say the store is locked: %v", err)
	}
}

func TestOpenRefusesForeignDatabase(t *testing.T) {
	tests := []struct {
		name  string
		setup string
		want  string
	}{
		{name: "an SQLite database of another program is refused", setup: "CREATE TABLE customers (id INTEGER)", want: "not an ingestd queue"},
		{name: "a store written by a newer format is refused", setup: "PRAGMA user_version=99", want: "format version 99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(tt.setup); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			q, err := Open(Options{Dir: dir, MaxBytes: 1 << 20})
			if err == nil {
				_ = q.Close()
				t.Fatal("Open accepted the database")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestOpenCreatesPrivateDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "queue")
	openTest(t, dir, 1)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("store directory mode %o, want 700", perm)
	}
}

// batchesRootPage returns the page number of the root of the batches table.
func batchesRootPage(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var root int
	if err := db.QueryRow("SELECT rootpage FROM sqlite_schema WHERE name = 'batches'").Scan(&root); err != nil {
		t.Fatal(err)
	}
	if root < 2 {
		t.Fatalf("batches root page is %d", root)
	}
	return root
}

func TestGroupWithDuplicatesFailsOnlyThem(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	q := openTest(t, dir, 1<<30)
	stored := testBatch(0)
	if err := q.Append(ctx, stored); err != nil {
		t.Fatal(err)
	}
	// One group, as the committer would gather it: more appends than one
	// insert statement carries, a duplicate of a stored id, a duplicate
	// inside the group, and an ack in the middle.
	var group []*op
	var want []string
	for i := range maxChunk + 5 {
		b := testBatch(i + 1)
		group = append(group, &op{batch: &b, size: int64(len(b.Body)), err: make(chan error, 1)})
		want = append(want, b.ID)
		if i == 3 {
			dup := stored
			group = append(group, &op{batch: &dup, size: int64(len(dup.Body)), err: make(chan error, 1)})
		}
		if i == 10 {
			group = append(group, &op{acks: []string{"unknown-id"}, err: make(chan error, 1)})
		}
	}
	again := *group[0].batch
	group = append(group, &op{batch: &again, size: int64(len(again.Body)), err: make(chan error, 1)})
	q.statMu.Lock()
	for _, o := range group {
		q.bytes += o.size
	}
	q.statMu.Unlock()

	q.commit(group)

	for i, o := range group {
		err := <-o.err
		isDup := o.batch != nil && (o.batch == group[4].batch || i == len(group)-1)
		switch {
		case isDup && !errors.Is(err, ErrDuplicate):
			t.Errorf("op %d (a duplicate): err = %v, want ErrDuplicate", i, err)
		case !isDup && err != nil:
			t.Errorf("op %d: err = %v, want nil", i, err)
		}
	}
	got, err := q.Peek(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want)+1 {
		t.Fatalf("queued %d batches, want %d", len(got), len(want)+1)
	}
	if st := q.Stats(); st.Batches != len(want)+1 {
		t.Errorf("Stats.Batches = %d, want %d", st.Batches, len(want)+1)
	}
	var sum int64
	for _, b := range got {
		sum += int64(len(b.Body))
	}
	if st := q.Stats(); st.Bytes != sum {
		t.Errorf("Stats.Bytes = %d, want %d (the stored bodies)", st.Bytes, sum)
	}
}

func TestChunkLen(t *testing.T) {
	small := &Batch{Body: make([]byte, 300)}
	big := &Batch{Body: make([]byte, maxChunkBytes)}
	many := func(b *Batch, n int) []*Batch { return slices.Repeat([]*Batch{b}, n) }
	tests := []struct {
		name    string
		pending []*Batch
		want    int
	}{
		{"one batch goes alone", many(small, 1), 1},
		{"small batches fill a statement up to maxChunk", many(small, maxChunk+7), maxChunk},
		{"a batch over the byte bound still goes, alone", many(big, 3), 1},
		{"small batches stop before the byte bound", append(many(small, 2), big), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := chunkLen(tt.pending); got != tt.want {
				t.Errorf("chunkLen = %d, want %d", got, tt.want)
			}
		})
	}
}

// set makes a skip set for PeekExcept.
func set(ids ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		m[id] = struct{}{}
	}
	return m
}
