package auth

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

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

func TestAddTokenStoresOnlyASaltedHash(t *testing.T) {
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
		if strings.Contains(string(data), tok) || strings.Contains(string(data), tok[strings.LastIndex(tok, ".")+1:]) {
			t.Errorf("tokens file holds the secret of %s", d)
		}
	}
	if n := strings.Count(string(data), "$argon2id$"); n != 2 {
		t.Errorf("tokens file holds %d argon2id hashes, want 2:\n%s", n, data)
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
		name   string
		token  string
		device string
	}{
		{"a valid token names its device", good, "sensor-1"},
		{"another device's token names that device", tokens["sensor-2"], "sensor-2"},
		{"a wrong secret for a known id is rejected", good[:len(good)-2] + "AA", ""},
		{"an unknown id is rejected", TokenPrefix + "AAAAAAAAAAAA." + strings.Repeat("A", 43), ""},
		{"a token without the prefix is rejected", strings.TrimPrefix(good, TokenPrefix), ""},
		{"an empty token is rejected", "", ""},
		{"a token without a secret is rejected", TokenPrefix + "AAAAAAAAAAAA", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 { // the second round is served by the cache
				dev, err := a.Verify(tt.token)
				if tt.device == "" {
					if !errors.Is(err, ErrInvalidToken) || dev != "" {
						t.Fatalf("Verify = %q, %v; want ErrInvalidToken", dev, err)
					}
					continue
				}
				if err != nil || dev != tt.device {
					t.Fatalf("Verify = %q, %v; want %q", dev, err, tt.device)
				}
			}
		})
	}
}

func TestVerifyPaysTheSlowHashOncePerToken(t *testing.T) {
	path, tokens := newTokensFile(t, "sensor-1")
	a, err := NewAuthenticator(path)
	if err != nil {
		t.Fatal(err)
	}
	tok := tokens["sensor-1"]
	bad := tok[:len(tok)-2] + "zz"
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if _, err := a.Verify(tok); err != nil {
					t.Error(err)
					return
				}
				if _, err := a.Verify(bad); err == nil {
					t.Error("a wrong token was accepted")
					return
				}
			}
		})
	}
	wg.Wait()
	// At most one slow verification per concurrent first presentation.
	if n := a.SlowVerifications(); n < 1 || n > 16 {
		t.Fatalf("slow verifications = %d, want between 1 and 16 for 800 presentations", n)
	}
}

func TestReload(t *testing.T) {
	path, tokens := newTokensFile(t, "sensor-1", "sensor-2")
	a, err := NewAuthenticator(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(tokens["sensor-1"]); err != nil {
		t.Fatal(err)
	}
	t.Run("a revoked device stops working after reload", func(t *testing.T) {
		if n, err := RevokeDevice(path, "sensor-2"); err != nil || n != 1 {
			t.Fatalf("RevokeDevice = %d, %v", n, err)
		}
		if err := a.Reload(); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Verify(tokens["sensor-2"]); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("revoked token: %v", err)
		}
		before := a.SlowVerifications()
		if _, err := a.Verify(tokens["sensor-1"]); err != nil {
			t.Fatalf("kept token: %v", err)
		}
		if a.SlowVerifications() != before {
			t.Error("an unchanged token paid the slow hash again after reload")
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
		if _, err := a.Verify(tokens["sensor-1"]); err != nil {
			t.Fatalf("old set lost: %v", err)
		}
	})
	t.Run("revoking an unknown device is an error", func(t *testing.T) {
		if _, err := RevokeDevice(path, "nobody"); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestBcryptHashesAreAccepted(t *testing.T) {
	tok := TokenPrefix + "bcryptid01." + strings.Repeat("s", 43)
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
	if dev, err := a.Verify(tok); err != nil || dev != "legacy-1" {
		t.Fatalf("Verify = %q, %v", dev, err)
	}
}

func TestParseFileRejectsBadLines(t *testing.T) {
	good, err := HashToken("x")
	if err != nil {
		t.Fatal(err)
	}
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
		{"huge argon2 memory is rejected", "dev id12345678 $argon2id$v=19$m=9999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5\n", "out of bounds"},
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

func TestNewTokenRejectsBadDeviceIDs(t *testing.T) {
	for _, d := range []string{"", " x", "a b", "-lead", strings.Repeat("a", 129), "dev\n"} {
		if _, err := AddToken(filepath.Join(t.TempDir(), "tokens"), d); err == nil {
			t.Errorf("AddToken(%q) succeeded", d)
		}
	}
}

func FuzzParseFile(f *testing.F) {
	h, _ := HashToken("x")
	f.Add("dev id12345678 " + h + "\n")
	f.Add("# comment\n\n")
	f.Add("a b c d")
	f.Fuzz(func(t *testing.T, s string) {
		recs, err := ParseFile(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, r := range recs {
			if !ValidDevice(r.Device) || checkHash(r.Hash) != nil {
				t.Fatalf("accepted bad record %+v", r)
			}
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
