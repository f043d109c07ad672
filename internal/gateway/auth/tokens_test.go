package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func newTokensFile(t *testing.T, devices ...string) (string, map[string]string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens")
	tokens := map[string]string{}
	for _, d := range devices {
		tok, err := AddToken(path, d)
		if err != nil {
			t.Fatalf("AddToken(%q): %v", d, err)
		}
		tokens[d] = tok
	}
	return path, tokens
}

// clock is a settable clock for expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func verify(a *Authenticator, token string) (Result, error) {
	return a.Verify(context.Background(), token)
}

func TestAddTokenStoresOnlyADigest(t *testing.T) {
	path, tokens := newTokensFile(t, "sensor-1", "sensor-2")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("tokens file mode = %04o, want 0600", perm)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for d, tok := range tokens {
		if !strings.HasPrefix(tok, TokenPrefix) {
			t.Errorf("token %q lacks the prefix %q", tok, TokenPrefix)
		}
		if _, secret, ok := splitToken(tok); !ok || len(secret) != fastSecretLen {
			t.Errorf("token of %s has a secret of %d characters, want %d (256 bits)", d, len(secret), fastSecretLen)
		}
		if strings.Contains(string(data), tok[strings.LastIndex(tok, ".")+1:]) {
			t.Errorf("tokens file holds the secret of %s", d)
		}
	}
	if n := strings.Count(string(data), "$sha256$"); n != 2 {
		t.Errorf("tokens file holds %d sha256 digests, want 2:\n%s", n, data)
	}
}

func TestVerify(t *testing.T) {
	path, tokens := newTokensFile(t, "sensor-1", "sensor-2")
	a, err := NewAuthenticator(path)
	if err != nil {
		t.Fatal(err)
	}
	good := tokens["sensor-1"]
	tests := []struct {
		name    string
		token   string
		device  string
		outcome string
	}{
		{"a valid token names its device", good, "sensor-1", OutcomeOK},
		{"another device's token names that device", tokens["sensor-2"], "sensor-2", OutcomeOK},
		{"a wrong secret for a known id is rejected", good[:len(good)-2] + "AA", "", OutcomeInvalid},
		{"an unknown id is rejected", TokenPrefix + "AAAAAAAAAAAA." + strings.Repeat("A", 43), "", OutcomeUnknown},
		{"a token without the prefix is rejected", strings.TrimPrefix(good, TokenPrefix), "", OutcomeMalformed},
		{"an empty token is rejected", "", "", OutcomeMalformed},
		{"a token without a secret is rejected", TokenPrefix + "AAAAAAAAAAAA", "", OutcomeMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := verify(a, tt.token)
			if res.Outcome != tt.outcome {
				t.Errorf("outcome %q, want %q", res.Outcome, tt.outcome)
			}
			if tt.device == "" {
				if !errors.Is(err, ErrInvalidToken) || res.Device != "" {
					t.Fatalf("Verify = %+v, %v; want ErrInvalidToken", res, err)
				}
				return
			}
			if err != nil || res.Device != tt.device || res.Method != MethodSHA256 {
				t.Fatalf("Verify = %+v, %v; want %q by sha256", res, err, tt.device)
			}
		})
	}
	if n := a.SlowVerifications(); n != 0 {
		t.Errorf("%d slow verifications for sha256 tokens, want 0", n)
	}
}

// TestVerifyComparesInConstantTimeOnEveryPath checks that every outcome of a
// well-formed token, known or not, makes exactly one full-length
// constant-time comparison of digests: no path answers early, before or
// instead of it.
func TestVerifyComparesInConstantTimeOnEveryPath(t *testing.T) {
	path, tokens := newTokensFile(t, "sensor-1")
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	expTok, _, err := Add(path, "old-1", AddOptions{Now: c.Now(), Expires: c.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	legacyTok := addLegacy(t, path, "legacy-1", testArgon)
	a, err := New(path, Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify(a, legacyTok); err != nil { // pays the slow hash once
		t.Fatal(err)
	}
	c.Set(c.Now().Add(2 * time.Hour))
	var calls, short int
	orig := ctCompare
	ctCompare = func(x, y []byte) int {
		calls++
		if len(x) != 32 || len(y) != 32 {
			short++
		}
		return orig(x, y)
	}
	t.Cleanup(func() { ctCompare = orig })
	good := tokens["sensor-1"]
	for name, tok := range map[string]string{
		"right secret":            good,
		"wrong last character":    good[:len(good)-1] + "x",
		"wrong first character":   good[:len(TokenPrefix)+13] + "x" + good[len(TokenPrefix)+14:],
		"unknown id":              TokenPrefix + "unknownid0." + strings.Repeat("s", 43),
		"expired token":           expTok,
		"legacy token, cached":    legacyTok,
		"legacy token, wrong one": legacyTok[:len(legacyTok)-1] + "x",
		"id in another case":      TokenPrefix + strings.ToUpper(good[len(TokenPrefix):len(TokenPrefix)+12]) + good[len(TokenPrefix)+12:],
	} {
		calls, short = 0, 0
		_, _ = verify(a, tok)
		if calls != 1 || short != 0 {
			t.Errorf("%s: %d constant-time comparisons (%d not of two 32-byte digests), want exactly 1", name, calls, short)
		}
	}
}

func TestExpiryFollowsTheInjectedClock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tok, rec, err := Add(path, "sensor-1", AddOptions{Now: start, Expires: start.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Created.Equal(start) || !rec.Expires.Equal(start.Add(24*time.Hour)) {
		t.Fatalf("record %+v: want created %s and expires a day later", rec, start)
	}
	c := &clock{t: start}
	a, err := New(path, Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		at      time.Time
		outcome string
	}{
		{"the token works when made", start, OutcomeOK},
		{"it works one second before it expires", start.Add(24*time.Hour - time.Second), OutcomeOK},
		{"it is refused at its expiry", start.Add(24 * time.Hour), OutcomeExpired},
		{"it is refused afterwards", start.Add(48 * time.Hour), OutcomeExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.Set(tt.at)
			res, err := verify(a, tok)
			if res.Outcome != tt.outcome || (tt.outcome == OutcomeOK) != (err == nil) {
				t.Fatalf("Verify at %s = %+v, %v; want %s", tt.at, res, err, tt.outcome)
			}
		})
	}
	t.Run("an expiry in the past is refused by add", func(t *testing.T) {
		if _, _, err := Add(path, "sensor-2", AddOptions{Now: start, Expires: start.Add(-time.Second)}); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestRotationKeepsTheOldTokenForTheOverlapOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	oldTok, _, err := Add(path, "sensor-1", AddOptions{Now: start})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := Add(path, "sensor-2", AddOptions{Now: start})
	if err != nil {
		t.Fatal(err)
	}
	rotatedAt := start.Add(time.Hour)
	newTok, rec, old, err := Rotate(path, "sensor-1", RotateOptions{Now: rotatedAt, Overlap: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if len(old) != 1 || !old[0].Expires.Equal(rotatedAt.Add(24*time.Hour)) || rec.Device != "sensor-1" {
		t.Fatalf("Rotate: new %+v, old %+v", rec, old)
	}
	c := &clock{}
	a, err := New(path, Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		at         time.Time
		oldOK      bool
		newOK      bool
		unaffected bool
	}{
		{"both tokens work right after the rotation", rotatedAt, true, true, true},
		{"both work until the overlap ends", rotatedAt.Add(24*time.Hour - time.Second), true, true, true},
		{"only the new one works after the overlap", rotatedAt.Add(24 * time.Hour), false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.Set(tt.at)
			for _, chk := range []struct {
				tok  string
				want bool
			}{{oldTok, tt.oldOK}, {newTok, tt.newOK}, {other, tt.unaffected}} {
				if _, err := verify(a, chk.tok); (err == nil) != chk.want {
					t.Errorf("token %.16s…: err %v, want accepted=%v", chk.tok, err, chk.want)
				}
			}
		})
	}
	t.Run("a second rotation drops the expired token and keeps the overlap short", func(t *testing.T) {
		at := rotatedAt.Add(48 * time.Hour)
		_, _, old, err := Rotate(path, "sensor-1", RotateOptions{Now: at, Overlap: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if len(old) != 1 || old[0].ID != rec.ID || !old[0].Expires.Equal(at.Add(time.Hour)) {
			t.Fatalf("old tokens after the second rotation: %+v", old)
		}
		recs, _ := ReadFile(path)
		if len(recs) != 3 {
			t.Fatalf("%d tokens in the file, want 3 (sensor-2, the rotated one, the new one)", len(recs))
		}
	})
	t.Run("rotating a device without a token is an error", func(t *testing.T) {
		if _, _, _, err := Rotate(path, "nobody", RotateOptions{Overlap: time.Hour}); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestReload(t *testing.T) {
	path, tokens := newTokensFile(t, "sensor-1", "sensor-2")
	a, err := NewAuthenticator(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify(a, tokens["sensor-1"]); err != nil {
		t.Fatal(err)
	}
	t.Run("a revoked device stops working after reload", func(t *testing.T) {
		if n, err := RevokeDevice(path, "sensor-2"); err != nil || n != 1 {
			t.Fatalf("RevokeDevice = %d, %v", n, err)
		}
		if err := a.Reload(); err != nil {
			t.Fatal(err)
		}
		if _, err := verify(a, tokens["sensor-2"]); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("revoked token: %v", err)
		}
		if _, err := verify(a, tokens["sensor-1"]); err != nil {
			t.Fatalf("kept token: %v", err)
		}
	})
	t.Run("a broken file keeps the old set in force", func(t *testing.T) {
		if err := os.WriteFile(path, []byte("sensor-3 only-two-fields\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		err := a.Reload()
		if err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Fatalf("Reload error = %v, want one naming line 1", err)
		}
		if _, err := verify(a, tokens["sensor-1"]); err != nil {
			t.Fatalf("old set lost: %v", err)
		}
	})
	t.Run("revoking an unknown device is an error", func(t *testing.T) {
		if _, err := RevokeDevice(path, "nobody"); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestParseFileRejectsBadLines(t *testing.T) {
	good := HashToken("x")
	tests := []struct {
		name string
		text string
		want string
	}{
		{"a line with two fields is rejected", "dev id12345678\n", "line 1"},
		{"a device with a space-like character is rejected", "d/ev id12345678 " + good + "\n", "invalid device id"},
		{"a short token id is rejected", "dev id1 " + good + "\n", "invalid token id"},
		{"a duplicate token id is rejected", "a id12345678 " + good + "\n# c\nb id12345678 " + good + "\n", "line 3"},
		{"an unknown hash scheme is rejected", "dev id12345678 $1$abc\n", "unsupported hash"},
		{"a truncated sha256 digest is rejected", "dev id12345678 " + good[:len(good)-1] + "\n", "malformed sha256"},
		{"huge argon2 memory is rejected", "dev id12345678 $argon2id$v=19$m=9999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5\n", "out of bounds"},
		{"an unknown attribute is rejected", "dev id12345678 " + good + " owner=me\n", "unknown attribute"},
		{"a bad expiry is rejected", "dev id12345678 " + good + " expires=tomorrow\n", "RFC 3339"},
		{"an attribute given twice is rejected", "dev id12345678 " + good + " expires=2027-01-01T00:00:00Z expires=2027-01-01T00:00:00Z\n", "twice"},
		{"six fields are rejected", "dev id12345678 " + good + " a b c\n", "6 fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFile(strings.NewReader(tt.text))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseFile error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestFileRoundTripKeepsEveryField(t *testing.T) {
	at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	recs := []Record{
		{Device: "a", ID: "id12345678", Hash: HashToken("x"), Created: at, Expires: at.Add(time.Hour)},
		{Device: "b", ID: "id23456789", Hash: HashToken("y")},
	}
	path := filepath.Join(t.TempDir(), "tokens")
	if err := WriteFile(path, recs); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(recs) {
		t.Fatalf("round trip:\n got %v\nwant %v", got, recs)
	}
}

func TestNewTokenRejectsBadDeviceIDs(t *testing.T) {
	for _, d := range []string{"", " x", "a b", "-lead", strings.Repeat("a", 129), "dev\n", "dév"} {
		if _, err := AddToken(filepath.Join(t.TempDir(), "tokens"), d); err == nil {
			t.Errorf("AddToken(%q) succeeded", d)
		}
	}
}

func FuzzParseFile(f *testing.F) {
	h := HashToken("x")
	f.Add("dev id12345678 " + h + "\n")
	f.Add("dev id12345678 " + h + " created=2026-01-01T00:00:00Z expires=2027-01-01T00:00:00+02:00\n")
	f.Add("# comment\n\n")
	f.Add("a b c d")
	f.Fuzz(func(t *testing.T, s string) {
		recs, err := ParseFile(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, r := range recs {
			if _, err := parseHash(r.Hash); !ValidDevice(r.Device) || !validTokenID(r.ID) || err != nil {
				t.Fatalf("accepted bad record %+v", r)
			}
		}
		// What was accepted is written back and read again unchanged.
		var b []byte
		for _, r := range recs {
			b = appendRecord(b, r)
		}
		again, err := ParseFile(strings.NewReader(string(b)))
		if err != nil || len(again) != len(recs) {
			t.Fatalf("re-reading the written records: %v", err)
		}
	})
}

func TestConcurrentTokenAddsLoseNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := AddToken(path, fmt.Sprintf("device-%d", i))
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	recs, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n {
		t.Fatalf("%d tokens stored, want %d: a concurrent add was lost", len(recs), n)
	}
}

func TestBcryptHashesAreAccepted(t *testing.T) {
	tok := TokenPrefix + "bcryptid01." + strings.Repeat("s", 20)
	h, err := bcrypt.GenerateFromPassword([]byte(tok), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokens")
	if err := WriteFile(path, []Record{{Device: "legacy-1", ID: "bcryptid01", Hash: string(h)}}); err != nil {
		t.Fatal(err)
	}
	a, err := NewAuthenticator(path)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := verify(a, tok); err != nil || res.Device != "legacy-1" || res.Method != MethodBcrypt {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
	if res, err := verify(a, tok); err != nil || res.Method != MethodCache {
		t.Fatalf("second Verify = %+v, %v; want it served from the cache", res, err)
	}
	if n := a.PendingMigrations(); n != 0 {
		t.Errorf("a 20-character secret was queued for sha256 (%d pending): only 256-bit secrets may move", n)
	}
}
