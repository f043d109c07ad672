package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// argonParams are argon2id costs for test entries.
type argonParams struct{ memKiB, time uint32 }

var (
	// realArgon is what older ingestd versions wrote (m=12 MiB, t=3).
	realArgon = argonParams{argonMemoryKiB, argonTime}
	// testArgon is cheap, for tests that only need the legacy code path.
	testArgon = argonParams{64, 1}
)

// legacyToken makes a token as older versions did and its argon2id hash.
func legacyToken(t testing.TB, p argonParams) (token, id, hash string) {
	t.Helper()
	buf := make([]byte, 9+32+16)
	if _, err := rand.Read(buf); err != nil {
		t.Fatal(err)
	}
	id = base64.RawURLEncoding.EncodeToString(buf[:9])
	token = TokenPrefix + id + "." + base64.RawURLEncoding.EncodeToString(buf[9:41])
	salt := buf[41:]
	key := argon2.IDKey([]byte(token), salt, p.time, p.memKiB, 1, 32)
	hash = fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=1$%s$%s", p.memKiB, p.time,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
	return token, id, hash
}

// addLegacy appends a legacy line "<device> <id> <argon2id hash>" (the
// three-field format of older versions) to the tokens file at path.
func addLegacy(t testing.TB, path, device string, p argonParams) string {
	t.Helper()
	token, id, hash := legacyToken(t, p)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%s %s %s\n", device, id, hash); err != nil {
		t.Fatal(err)
	}
	return token
}

func TestAnOldArgon2idTokensFileStillAuthenticatesAndMovesToSHA256(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte("# ingestd tokens: <device> <token id> <salted hash>.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tok1 := addLegacy(t, path, "sensor-1", realArgon)
	tok2 := addLegacy(t, path, "sensor-2", realArgon)
	a, err := NewAuthenticator(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := verify(a, tok1)
	if err != nil || res.Device != "sensor-1" || res.Method != MethodArgon2id {
		t.Fatalf("first use of a legacy token = %+v, %v; want sensor-1 by argon2id", res, err)
	}
	if res, err := verify(a, tok1); err != nil || res.Method != MethodCache {
		t.Fatalf("second use = %+v, %v; want the cached digest", res, err)
	}
	if _, err := verify(a, tok2[:len(tok2)-1]+"x"); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("wrong secret for a legacy id: %v", err)
	}
	n, err := a.Persist()
	if err != nil || n != 1 {
		t.Fatalf("Persist = %d, %v; want 1 line migrated", n, err)
	}
	data, _ := os.ReadFile(path)
	if strings.Count(string(data), "$sha256$") != 1 || strings.Count(string(data), "$argon2id$") != 1 {
		t.Fatalf("after migration the file should hold one sha256 and one argon2id line:\n%s", data)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("migrated file mode %04o, want 0600", fi.Mode().Perm())
	}
	// A restarted ingestd verifies the migrated token without the slow hash.
	b, err := NewAuthenticator(path)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := verify(b, tok1); err != nil || res.Method != MethodSHA256 {
		t.Fatalf("after restart = %+v, %v; want sha256", res, err)
	}
	if res, err := verify(b, tok2); err != nil || res.Method != MethodArgon2id {
		t.Fatalf("the unmigrated legacy token after restart = %+v, %v", res, err)
	}
	if n := b.SlowVerifications(); n != 1 {
		t.Errorf("%d slow verifications after restart, want 1 (only the unmigrated token)", n)
	}
}

func TestMigrationLeavesALineChangedMeanwhileAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	tok := addLegacy(t, path, "sensor-1", testArgon)
	a, err := NewAuthenticator(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify(a, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := RevokeDevice(path, "sensor-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := AddToken(path, "sensor-2"); err != nil {
		t.Fatal(err)
	}
	if n, err := a.Persist(); err != nil || n != 0 {
		t.Fatalf("Persist = %d, %v; want nothing migrated for a revoked line", n, err)
	}
	recs, _ := ReadFile(path)
	if len(recs) != 1 || recs[0].Device != "sensor-2" {
		t.Fatalf("the revoked token came back: %+v", recs)
	}
}

func TestMigrateMovesThePresentedTokens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	tok1 := addLegacy(t, path, "sensor-1", testArgon)
	addLegacy(t, path, "sensor-2", testArgon)
	fresh, err := AddToken(path, "sensor-3")
	if err != nil {
		t.Fatal(err)
	}
	st, err := Migrate(path, []string{tok1, "  " + fresh + " ", "igd.nonsense", tok1[:len(tok1)-1] + "x"})
	if err != nil {
		t.Fatal(err)
	}
	if st != (MigrateStats{Migrated: 1, Skipped: 3, Remaining: 1}) {
		t.Fatalf("Migrate = %+v; want 1 migrated, 3 skipped, 1 remaining", st)
	}
	a, err := NewAuthenticator(path)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := verify(a, tok1); err != nil || res.Method != MethodSHA256 {
		t.Fatalf("migrated token = %+v, %v", res, err)
	}
}

func TestConcurrentPresentationsOfOneTokenShareOneSlowVerification(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	tok := addLegacy(t, path, "sensor-1", realArgon)
	a, err := New(path, Options{SlowBurst: 100})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var failed atomic.Int32
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			if _, err := verify(a, tok); err != nil {
				failed.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of 50 concurrent presentations failed", failed.Load())
	}
	if n := a.SlowVerifications(); n != 1 {
		t.Fatalf("%d slow verifications for 50 concurrent presentations of one token, want 1", n)
	}
}

// TestWrongSecretFloodDoesNotSlowTheRightDevice floods wrong secrets for a
// sha256 token id and a legacy one while the right devices authenticate.
func TestWrongSecretFloodDoesNotSlowTheRightDevice(t *testing.T) {
	path, tokens := newTokensFile(t, "sensor-1")
	victim := addLegacy(t, path, "legacy-victim", realArgon)
	bystander := addLegacy(t, path, "legacy-bystander", realArgon)
	a, err := NewAuthenticator(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	var flood sync.WaitGroup
	var sent, throttled atomic.Int64
	for i := range 4 {
		flood.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				for _, tok := range []string{tokens["sensor-1"], victim} {
					wrong := tok[:len(tok)-6] + fmt.Sprintf("%02d%04d", i, n%10000)
					if _, err := verify(a, wrong); errors.Is(err, ErrThrottled) {
						throttled.Add(1)
					}
					sent.Add(1)
				}
			}
		})
	}
	for sent.Load() < 200 {
		time.Sleep(time.Millisecond) // let the flood build up
	}
	var worst time.Duration
	for range 200 {
		t0 := time.Now()
		res, err := verify(a, tokens["sensor-1"])
		worst = max(worst, time.Since(t0))
		if err != nil || res.Method != MethodSHA256 {
			t.Fatalf("the right device during the flood: %+v, %v", res, err)
		}
	}
	t0 := time.Now()
	res, err := verify(a, bystander)
	bystanderTook := time.Since(t0)
	stop()
	flood.Wait()
	if err != nil || res.Device != "legacy-bystander" {
		t.Fatalf("a legacy device's first request during a flood on another id: %+v, %v", res, err)
	}
	// The flood on the victim id may cost at most its burst of slow
	// verifications; without the per-id budget every wrong secret costs one.
	if n := a.SlowVerifications(); n > 3+1 {
		t.Errorf("%d slow verifications for %d flooded presentations, want at most 4 (burst 3 + the bystander)", n, sent.Load())
	}
	if throttled.Load() == 0 {
		t.Error("no flooded presentation was throttled")
	}
	if worst > 250*time.Millisecond {
		t.Errorf("the right device waited up to %s during the flood; a sha256 check takes microseconds", worst)
	}
	t.Logf("flood: %d wrong presentations, %d throttled, %d slow verifications; right device worst %s; bystander's first request %s",
		sent.Load(), throttled.Load(), a.SlowVerifications(), worst, bystanderTook)
}

func TestThrottledIDRecoversWithTheClock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	tok := addLegacy(t, path, "sensor-1", testArgon)
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	a, err := New(path, Options{Now: c.Now, SlowBurst: 2, SlowEvery: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := verify(a, tok[:len(tok)-1]+string(rune('a'+i))); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("wrong secret %d: %v", i, err)
		}
	}
	if res, err := verify(a, tok); !errors.Is(err, ErrThrottled) || res.Outcome != OutcomeThrottled {
		t.Fatalf("after the burst = %+v, %v; want throttled", res, err)
	}
	c.Set(c.Now().Add(10 * time.Second))
	if res, err := verify(a, tok); err != nil || res.Device != "sensor-1" {
		t.Fatalf("after the budget refilled = %+v, %v", res, err)
	}
}

func TestLastUseIsPersistedAndListed(t *testing.T) {
	path, tokens := newTokensFile(t, "sensor-1", "sensor-2")
	at := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	a, err := New(path, Options{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify(a, tokens["sensor-1"]); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Persist(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(LastUsedFile(path)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("last-use file: %v, %v; want mode 0600", fi, err)
	}
	list, err := List(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || !list[0].LastUsed.Equal(at) || !list[1].LastUsed.IsZero() || list[0].Method != MethodSHA256 {
		t.Fatalf("List = %+v; want sensor-1 last used %s and sensor-2 never", list, at)
	}
	// A restart keeps the last use, and a reload does too.
	b, err := NewAuthenticator(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := b.set.Load().byID[list[0].ID].lastUsed.Load(); got != at.Unix() {
		t.Fatalf("last use after restart and reload = %d, want %d", got, at.Unix())
	}
}

func FuzzParseLastUsed(f *testing.F) {
	f.Add("id12345678 1767225600\n")
	f.Add("# x\nid12345678 -1\n")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseLastUsed(strings.NewReader(s))
		if err != nil {
			return
		}
		for id, at := range m {
			if !validTokenID(id) || at.Unix() <= 0 {
				t.Fatalf("accepted %q at %s", id, at)
			}
		}
	})
}
