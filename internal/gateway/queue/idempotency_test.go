package queue

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// keyedBatch is a batch of device at the given time with body.
func keyedBatch(device, body string, at time.Time) (Batch, [32]byte) {
	return Batch{ID: NewID(at), Device: device, Records: 1, Body: []byte(body), ReceivedAt: at}, sha256.Sum256([]byte(body))
}

func TestAppendOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	type call struct {
		device, key, body string
		after             time.Duration // after t0
		wantFirst         int           // index of the call whose batch answers; -1 for its own
		wantErr           error
	}
	tests := []struct {
		name        string
		calls       []call
		wantBatches int
	}{
		{name: "a new key stores the batch", calls: []call{{"d1", "k", "a", 0, -1, nil}}, wantBatches: 1},
		{name: "the same key and body again answers with the first batch and stores nothing", calls: []call{
			{"d1", "k", "a", 0, -1, nil}, {"d1", "k", "a", time.Hour, 0, nil}, {"d1", "k", "a", 23 * time.Hour, 0, nil}}, wantBatches: 1},
		{name: "the same key with another body is a conflict and stores nothing", calls: []call{
			{"d1", "k", "a", 0, -1, nil}, {"d1", "k", "b", time.Minute, -1, ErrKeyConflict}}, wantBatches: 1},
		{name: "another device's key of the same name is its own", calls: []call{
			{"d1", "k", "a", 0, -1, nil}, {"d2", "k", "b", 0, -1, nil}}, wantBatches: 2},
		{name: "a key past the retention names a new batch", calls: []call{
			{"d1", "k", "a", 0, -1, nil}, {"d1", "k", "b", 25 * time.Hour, -1, nil}, {"d1", "k", "b", 26 * time.Hour, 1, nil}}, wantBatches: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := openTest(t, t.TempDir(), 1<<20)
			var ids []string
			for i, c := range tt.calls {
				b, h := keyedBatch(c.device, c.body, t0.Add(c.after))
				got, replay, err := q.AppendOnce(ctx, b, c.key, h)
				ids = append(ids, got.BatchID)
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("call %d: err %v, want %v", i, err, c.wantErr)
				}
				if err != nil {
					continue
				}
				want := b.ID
				if c.wantFirst >= 0 {
					want = ids[c.wantFirst]
				}
				if got.BatchID != want || replay != (c.wantFirst >= 0) || got.Records != 1 {
					t.Fatalf("call %d: got %+v replay %v, want batch %s replay %v", i, got, replay, want, c.wantFirst >= 0)
				}
			}
			if st := q.Stats(); st.Batches != tt.wantBatches {
				t.Fatalf("%d batches stored, want %d", st.Batches, tt.wantBatches)
			}
			if st := q.Stats(); st.Bytes != int64(tt.wantBatches) {
				t.Fatalf("%d bytes accounted, want %d (one per stored batch)", st.Bytes, tt.wantBatches)
			}
		})
	}
}

func TestAppendOnceInOneGroup(t *testing.T) {
	t.Parallel()
	// Concurrent requests with one key land in one commit: the first
	// stores the batch, every other one answers with it.
	q := openTest(t, t.TempDir(), 1<<20)
	now := time.Now()
	const n = 20
	type res struct {
		id     string
		replay bool
		err    error
	}
	out := make(chan res, n)
	for range n {
		go func() {
			b, h := keyedBatch("d1", "same", now)
			got, replay, err := q.AppendOnce(context.Background(), b, "k", h)
			out <- res{got.BatchID, replay, err}
		}()
	}
	ids, replays := map[string]bool{}, 0
	for range n {
		r := <-out
		if r.err != nil {
			t.Fatal(r.err)
		}
		ids[r.id] = true
		if r.replay {
			replays++
		}
	}
	if len(ids) != 1 || replays != n-1 || q.Stats().Batches != 1 {
		t.Fatalf("%d distinct batch ids, %d replays, %d stored; want 1, %d, 1", len(ids), replays, q.Stats().Batches, n-1)
	}
}

func TestAppendOnceKeysSurviveRestartAndAck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	q, err := Open(Options{Dir: dir, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	b, h := keyedBatch("d1", "a", time.Now())
	if _, _, err := q.AppendOnce(ctx, b, "k", h); err != nil {
		t.Fatal(err)
	}
	if err := q.Ack(ctx, b.ID); err != nil { // forwarded: the batch leaves the queue
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q = openTest(t, dir, 1<<20)
	again, _ := keyedBatch("d1", "a", time.Now())
	got, replay, err := q.AppendOnce(ctx, again, "k", h)
	if err != nil || !replay || got.BatchID != b.ID {
		t.Fatalf("after restart and ack: %+v replay %v err %v; want the first batch %s", got, replay, err, b.ID)
	}
	if st := q.Stats(); st.Batches != 0 {
		t.Fatalf("%d batches stored by a replay", st.Batches)
	}
}

func TestExpiredKeysArePruned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, err := Open(Options{Dir: t.TempDir(), MaxBytes: 1 << 20, KeyRetention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	old, h := keyedBatch("d1", "a", time.Now().Add(-2*time.Hour))
	if _, _, err := q.AppendOnce(ctx, old, "old", h); err != nil {
		t.Fatal(err)
	}
	fresh, h2 := keyedBatch("d1", "b", time.Now())
	q.lastPrune = time.Time{} // the committer is idle between appends
	if _, _, err := q.AppendOnce(ctx, fresh, "fresh", h2); err != nil {
		t.Fatal(err)
	}
	var keys []string
	rows, err := q.db.QueryContext(ctx, "SELECT key FROM idempotency ORDER BY key")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if len(keys) != 1 || keys[0] != "fresh" {
		t.Fatalf("keys left %v, want only the fresh one", keys)
	}
}

func TestAppendOnceRefusesBadKeys(t *testing.T) {
	t.Parallel()
	q := openTest(t, t.TempDir(), 1<<20)
	for _, key := range []string{"", string(make([]byte, MaxKeyLen+1))} {
		b, h := keyedBatch("d1", "a", time.Now())
		if _, _, err := q.AppendOnce(context.Background(), b, key, h); err == nil {
			t.Errorf("key of %d bytes accepted", len(key))
		}
	}
}

func TestOpenUpgradesAVersion1Store(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{schema, "PRAGMA user_version=1",
		"INSERT INTO batches (id, device, records, received_at, body) VALUES ('01OLD', 'd1', 1, 0, x'7b7d0a')"} {
		if _, err := db.Exec(st); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	q := openTest(t, dir, 1<<20)
	if st := q.Stats(); st.Batches != 1 {
		t.Fatalf("%d batches after the upgrade, want the one stored before", st.Batches)
	}
	b, h := keyedBatch("d1", "a", time.Now())
	if _, _, err := q.AppendOnce(context.Background(), b, "k", h); err != nil {
		t.Fatalf("AppendOnce on an upgraded store: %v", err)
	}
	var v int
	if err := q.db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != formatVersion {
		t.Fatalf("user_version %d (%v), want %d", v, err, formatVersion)
	}
	if err := q.db.QueryRow("PRAGMA page_size").Scan(&v); err != nil || v != 4096 {
		t.Fatalf("page_size %d (%v): an existing store keeps its 4096-byte pages", v, err)
	}
}
