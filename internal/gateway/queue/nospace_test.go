package queue

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/tmpfs"
	"github.com/hardgate/hardgate/internal/poll"
)

// TestFullFilesystem runs the store on a real 4 MiB tmpfs and fills it:
// appends and acks fail with ErrNoSpace (which is ErrFull), nothing is
// lost or counted twice, and once there is room again Writable says so
// without waiting for the next append, and both work again.
func TestFullFilesystem(t *testing.T) {
	t.Parallel()
	dir := tmpfs.Mount(t, 4<<20)
	ctx := context.Background()
	q := openTest(t, dir, 1<<30)
	var stored []string
	for i := range 20 {
		b := testBatch(i)
		if err := q.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, b.ID)
	}
	before := q.Stats()
	free := tmpfs.Fill(t, dir)

	err := q.Append(ctx, testBatch(99))
	if !errors.Is(err, ErrNoSpace) || !errors.Is(err, ErrFull) {
		t.Fatalf("Append on a full filesystem: %v, want ErrNoSpace (an ErrFull)", err)
	}
	if err := q.Ack(ctx, stored[:5]...); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Ack on a full filesystem: %v, want ErrNoSpace", err)
	}
	if err := q.Writable(); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Writable on a full filesystem: %v, want ErrNoSpace", err)
	}
	if st := q.Stats(); st != before {
		t.Fatalf("stats moved by failed writes: %+v, want %+v", st, before)
	}

	free()
	// No append or ack in between: Writable's own probe finds the room.
	poll.Until(t, "the store to read as writable", func() bool { return q.Writable() == nil }, poll.Interval(200*time.Millisecond))
	if err := q.Ack(ctx, stored[:5]...); err != nil {
		t.Fatalf("Ack after space was freed: %v", err)
	}
	if err := q.Append(ctx, testBatch(100)); err != nil {
		t.Fatalf("Append after space was freed: %v", err)
	}
	left, err := q.Peek(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 16 || left[0].ID != stored[5] {
		t.Fatalf("%d batches left (first %s), want 15 of the 20 and the new one", len(left), left[0].ID)
	}
}
