package queue

import (
	"strings"
	"testing"
	"time"
)

func TestNewID(t *testing.T) {
	base := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		times []time.Time
	}{
		{name: "ids made in the same millisecond are unique and increasing", times: repeatTime(base, 1000)},
		{name: "ids made later sort later", times: []time.Time{base, base.Add(time.Millisecond), base.Add(time.Hour), base.Add(400 * 24 * time.Hour)}},
		{name: "ids stay increasing when the clock steps back", times: []time.Time{base.Add(time.Hour), base, base.Add(-time.Minute)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev := ""
			for i, now := range tt.times {
				id := NewID(now)
				if len(id) != IDLen {
					t.Fatalf("id %q has length %d, want %d", id, len(id), IDLen)
				}
				for _, c := range id {
					if !strings.ContainsRune(crockford, c) {
						t.Fatalf("id %q has a character outside Crockford base32", id)
					}
				}
				if id <= prev {
					t.Fatalf("id %d %q does not sort after %q", i, id, prev)
				}
				prev = id
			}
		})
	}
}

func TestNewIDEncodesTime(t *testing.T) {
	// The first 10 characters carry the 48-bit millisecond timestamp.
	var high [10]byte
	for i := range high {
		high[i] = 0xff
	}
	a := makeID(1, high)
	b := makeID(2, [10]byte{})
	if a >= b {
		t.Fatalf("id of 1 ms %q does not sort before id of 2 ms %q", a, b)
	}
	if got := makeID(1<<41, [10]byte{})[:10]; got != "0200000000" {
		t.Errorf("time prefix of 2^41 ms = %q, want 0200000000", got)
	}
}

func repeatTime(t time.Time, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = t
	}
	return out
}

func TestEncodeID(t *testing.T) {
	var max [16]byte
	for i := range max {
		max[i] = 0xff
	}
	tests := []struct {
		name string
		raw  [16]byte
		want string
	}{
		{name: "zero encodes as all zeros", want: strings.Repeat("0", IDLen)},
		{name: "all ones encodes as the largest ULID", raw: max, want: "7" + strings.Repeat("Z", IDLen-1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := encodeID(tt.raw); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}
