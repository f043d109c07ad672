package auth

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// writeManyTokens writes a tokens file of n sha256 tokens over n/2 devices,
// with creation and expiry times, and returns its path and one token.
func writeManyTokens(tb testing.TB, n int) (string, string) {
	tb.Helper()
	recs := make([]Record, 0, n)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var one string
	for i := range n {
		tok, rec, err := NewToken(fmt.Sprintf("device-%06d", i/2), at)
		if err != nil {
			tb.Fatal(err)
		}
		rec.Expires = at.AddDate(1, 0, 0)
		recs = append(recs, rec)
		one = tok
	}
	path := filepath.Join(tb.TempDir(), "tokens")
	if err := WriteFile(path, recs); err != nil {
		tb.Fatal(err)
	}
	return path, one
}

// TestA100kTokensFileLoads loads a fleet-sized tokens file and verifies a
// token from it. Its time is logged, not asserted (no timed unit tests):
// the figure in docs/ingestd.md comes from BenchmarkLoad100kTokens.
func TestA100kTokensFileLoads(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 15 MB tokens file")
	}
	path, tok := writeManyTokens(t, 100_000)
	t0 := time.Now()
	a, err := New(path, Options{Now: func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }})
	took := time.Since(t0)
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() != 100_000 || a.Devices() != 50_000 {
		t.Fatalf("loaded %d tokens of %d devices, want 100000 of 50000", a.Len(), a.Devices())
	}
	if _, err := verify(a, tok); err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded 100,000 tokens in %s (race detector: %v)", took, raceEnabled)
}

func BenchmarkLoad100kTokens(b *testing.B) {
	path, _ := writeManyTokens(b, 100_000)
	b.ResetTimer()
	for b.Loop() {
		if _, err := NewAuthenticator(path); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifySHA256(b *testing.B) {
	path, tok := writeManyTokens(b, 1000)
	a, err := NewAuthenticator(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := verify(a, tok); err != nil {
			b.Fatal(err)
		}
	}
}
