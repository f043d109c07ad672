package queue

import (
	"crypto/rand"
	"sync"
	"time"
)

// crockford is Crockford's base32 alphabet; its characters are in ASCII
// order, so the encoded ids sort like the bytes they encode.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// IDLen is the length of an id returned by NewID.
const IDLen = 26

// idGen makes ids monotonic within the process: ids made in the same
// millisecond (or with a clock that stepped back) increment the random part
// of the previous id instead of drawing a new one, so later calls always sort
// after earlier ones.
var idGen struct {
	mu      sync.Mutex
	lastMS  uint64
	entropy [10]byte
}

// NewID returns a ULID-like id: 48 bits of Unix milliseconds then 80 bits
// from crypto/rand, as 26 characters of Crockford base32. Ids are unique and
// sort lexically by time; within one process they are strictly increasing
// even for calls in the same millisecond.
func NewID(now time.Time) string {
	ms := uint64(max(now.UnixMilli(), 0)) & (1<<48 - 1)
	idGen.mu.Lock()
	if ms <= idGen.lastMS && idGen.lastMS != 0 {
		ms = idGen.lastMS
		if !increment(&idGen.entropy) {
			// 80 bits exhausted in one millisecond: borrow the next one.
			ms++
			fillEntropy(&idGen.entropy)
		}
	} else {
		fillEntropy(&idGen.entropy)
	}
	idGen.lastMS = ms
	id := makeID(ms, idGen.entropy)
	idGen.mu.Unlock()
	return id
}

// makeID encodes a 48-bit millisecond time and 80 bits of entropy.
func makeID(ms uint64, entropy [10]byte) string {
	var raw [16]byte
	for i := range 6 {
		raw[i] = byte(ms >> (8 * (5 - i)))
	}
	copy(raw[6:], entropy[:])
	return encodeID(raw)
}

func fillEntropy(e *[10]byte) {
	// crypto/rand.Read never fails on supported platforms (it panics instead).
	_, _ = rand.Read(e[:])
	// Keep headroom so that increments within a millisecond rarely overflow.
	e[0] &= 0x7f
}

// increment adds one to the big-endian number in e; false on overflow.
func increment(e *[10]byte) bool {
	for i := len(e) - 1; i >= 0; i-- {
		e[i]++
		if e[i] != 0 {
			return true
		}
	}
	return false
}

// encodeID writes 128 bits as 26 base32 characters (the first carries 3 bits).
func encodeID(raw [16]byte) string {
	var out [IDLen]byte
	// Treat raw as a 130-bit number padded with two leading zero bits.
	var acc uint32
	bits := 2 // leading zero padding
	j := 0
	for _, b := range raw {
		acc = acc<<8 | uint32(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out[j] = crockford[(acc>>bits)&31]
			j++
		}
		acc &= 1<<bits - 1
	}
	return string(out[:])
}
