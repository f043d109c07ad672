package server

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// frame is the 9-byte header of an HTTP/2 frame and its payload.
func frame(typ, flags byte, payload []byte) []byte {
	n := len(payload)
	return append([]byte{byte(n >> 16), byte(n >> 8), byte(n), typ, flags, 0, 0, 0, 1}, payload...)
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestHeaderGuardFollowsHeaderBlocks(t *testing.T) {
	t.Parallel()
	preface := []byte(http2.ClientPreface)
	settings := frame(0x4, 0, nil)
	tests := []struct {
		name    string
		in      []byte
		inBlock bool
	}{
		{"the preface and SETTINGS open no block", join(preface, settings), false},
		{"HEADERS without END_HEADERS opens a block", join(preface, frame(h2FrameHeaders, 0, []byte("abcde"))), true},
		{"a CONTINUATION with END_HEADERS closes it", join(preface, frame(h2FrameHeaders, 0, []byte("abc")), frame(h2FrameContinuation, h2FlagEndHeaders, []byte("de"))), false},
		{"a CONTINUATION without END_HEADERS keeps it open", join(preface, frame(h2FrameHeaders, 0, []byte("abc")), frame(h2FrameContinuation, 0, []byte("de"))), true},
		{"HEADERS with END_HEADERS whose payload has not all arrived is open", join(preface, frame(h2FrameHeaders, h2FlagEndHeaders, []byte("abcde"))[:12]), true},
		{"HEADERS with END_HEADERS and its whole payload is closed", join(preface, frame(h2FrameHeaders, h2FlagEndHeaders, []byte("abcde"))), false},
		{"an empty HEADERS frame with END_HEADERS is closed", join(preface, frame(h2FrameHeaders, h2FlagEndHeaders, nil)), false},
		{"a frame header cut short opens nothing", join(preface, frame(h2FrameHeaders, 0, nil)[:5]), false},
		{"DATA bytes that look like a HEADERS frame header are payload", join(preface, frame(0x0, 0, frame(h2FrameHeaders, 0, []byte("x")))), false},
		{"only part of the preface opens nothing", preface[:10], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{1, 2, 7, len(tt.in) + 1} {
				g := newHeaderGuard(nil, time.Hour, nil)
				for b := tt.in; len(b) > 0; {
					n := min(chunk, len(b))
					g.observe(b[:n])
					b = b[n:]
				}
				g.stop()
				if g.inBlock != tt.inBlock {
					t.Fatalf("read in chunks of %d: in a header block = %v, want %v", chunk, g.inBlock, tt.inBlock)
				}
			}
		})
	}
}

// FuzzHeaderGuard feeds the guard arbitrary client bytes (the parser reads
// what an unauthenticated client sends): it must not panic, and reading
// them in chunks must leave it in the same state as reading them at once.
func FuzzHeaderGuard(f *testing.F) {
	f.Add(append([]byte(http2.ClientPreface), frame(h2FrameHeaders, 0, []byte("abc"))...), uint8(3))
	f.Add(append([]byte(http2.ClientPreface), 0xff, 0xff, 0xff, h2FrameContinuation, 0xff), uint8(1))
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		whole := newHeaderGuard(nil, time.Hour, nil)
		whole.observe(data)
		whole.stop()
		parts := newHeaderGuard(nil, time.Hour, nil)
		step := max(int(chunk), 1)
		for b := data; len(b) > 0; {
			n := min(step, len(b))
			parts.observe(b[:n])
			b = b[n:]
		}
		parts.stop()
		if whole.inBlock != parts.inBlock || whole.payload != parts.payload || whole.hdrLen != parts.hdrLen || whole.preface != parts.preface {
			t.Fatalf("state differs: at once inBlock=%v payload=%d hdr=%d preface=%d; in chunks of %d inBlock=%v payload=%d hdr=%d preface=%d",
				whole.inBlock, whole.payload, whole.hdrLen, whole.preface, step, parts.inBlock, parts.payload, parts.hdrLen, parts.preface)
		}
	})
}
