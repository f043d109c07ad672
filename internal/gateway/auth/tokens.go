// Package auth authenticates devices to ingestd: bearer tokens (made,
// rotated, listed and verified here) and the revocation list of mTLS client
// certificates.
//
// A token is "igd.<id>.<secret>" with a 256-bit random secret. The id selects
// one line of the tokens file, which stores SHA-256 of the token, never the
// token itself. Because the secret is random and long, SHA-256 is as strong
// as a slow password hash against someone who stole the file, and verifying
// costs a microsecond, so thousands of devices reconnecting at once after a
// restart are all answered within the second. docs/ingestd.md has the threat
// model.
//
// Lines written by older versions hold a salted argon2id (or bcrypt) hash.
// They keep working: each is verified with the slow hash once, remembered,
// and rewritten as SHA-256 on its first successful use. Slow verifications
// are bounded globally and per token id, and concurrent presentations of one
// token share a single verification.
package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// TokenPrefix starts every ingestd token.
const TokenPrefix = "igd."

// secretBytes is the size of a token's random secret (256 bits).
const secretBytes = 32

// fastSecretLen is the length of the base64url text of a 256-bit secret. A
// legacy token whose secret is at least this long was made by "ingestd
// token add" and may move to SHA-256; a shorter one keeps its slow hash.
const fastSecretLen = 43

// NewToken returns a fresh random token and its record for device, created
// at now (zero leaves Created unset).
func NewToken(device string, now time.Time) (string, Record, error) {
	if !ValidDevice(device) {
		return "", Record{}, fmt.Errorf("invalid device id %q: use 1-128 letters, digits and . _ : @ -", device)
	}
	buf := make([]byte, 9+secretBytes)
	if _, err := rand.Read(buf); err != nil {
		return "", Record{}, fmt.Errorf("generate token: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(buf[:9])
	token := TokenPrefix + id + "." + base64.RawURLEncoding.EncodeToString(buf[9:])
	rec := Record{Device: device, ID: id, Hash: HashToken(token)}
	if !now.IsZero() {
		rec.Created = now.UTC().Truncate(time.Second)
	}
	return token, rec, nil
}

// splitToken returns the id and secret of a well-formed token.
func splitToken(token string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(token, TokenPrefix)
	if !ok {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, ".")
	if !ok || !validTokenID(id) || len(secret) < 16 || len(secret) > 256 {
		return "", "", false
	}
	return id, secret, true
}

// AddOptions are the choices of Add.
type AddOptions struct {
	// Now is the creation time; zero is time.Now().
	Now time.Time
	// Expires, when not zero, is when the token stops working.
	Expires time.Time
}

// AddToken creates a token for device that never expires; see Add.
func AddToken(tokensFile, device string) (string, error) {
	tok, _, err := Add(tokensFile, device, AddOptions{})
	return tok, err
}

// Add creates a token for device, stores its hash in tokensFile (creating
// the file with mode 0600 when missing) and returns the token, which is
// shown once. A device may hold several tokens.
func Add(tokensFile, device string, o AddOptions) (string, Record, error) {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	if !o.Expires.IsZero() && !o.Expires.After(now) {
		return "", Record{}, fmt.Errorf("expiry %s is not in the future", o.Expires.UTC().Format(time.RFC3339))
	}
	var token string
	var rec Record
	err := withFileLock(tokensFile, func() error {
		recs, err := ReadFile(tokensFile)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		token, rec, err = NewToken(device, now)
		if err != nil {
			return err
		}
		rec.Expires = o.Expires.UTC().Truncate(time.Second)
		return WriteFile(tokensFile, append(recs, rec))
	})
	if err != nil {
		return "", Record{}, err
	}
	return token, rec, nil
}

// RotateOptions are the choices of Rotate.
type RotateOptions struct {
	// Now is the time of the rotation; zero is time.Now().
	Now time.Time
	// Overlap is how long the device's older tokens keep working.
	Overlap time.Duration
	// Expires, when not zero, is when the new token stops working.
	Expires time.Time
}

// Rotate gives device a new token and makes each of its older tokens expire
// at now+Overlap (or earlier, if it already expired sooner). Tokens of the
// device that had already expired are removed. It returns the new token,
// its record and the records of the older tokens as they now stand.
func Rotate(tokensFile, device string, o RotateOptions) (string, Record, []Record, error) {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	if o.Overlap < 0 {
		return "", Record{}, nil, fmt.Errorf("overlap %s is negative", o.Overlap)
	}
	until := now.Add(o.Overlap).UTC().Truncate(time.Second)
	var token string
	var rec Record
	var old []Record
	err := withFileLock(tokensFile, func() error {
		recs, err := ReadFile(tokensFile)
		if err != nil {
			return err
		}
		kept := recs[:0]
		for _, r := range recs {
			if r.Device == device {
				if r.ExpiredAt(now) {
					continue
				}
				if r.Expires.IsZero() || r.Expires.After(until) {
					r.Expires = until
				}
				old = append(old, r)
			}
			kept = append(kept, r)
		}
		if len(old) == 0 {
			return fmt.Errorf("device %q has no valid token in %s: use \"ingestd token add\"", device, tokensFile)
		}
		token, rec, err = NewToken(device, now)
		if err != nil {
			return err
		}
		rec.Expires = o.Expires.UTC().Truncate(time.Second)
		return WriteFile(tokensFile, append(kept, rec))
	})
	if err != nil {
		return "", Record{}, nil, err
	}
	return token, rec, old, nil
}

// RevokeDevice removes every token of device from tokensFile and returns how
// many were removed. A running ingestd drops them on its next reload (SIGHUP).
func RevokeDevice(tokensFile, device string) (int, error) {
	n := 0
	err := withFileLock(tokensFile, func() error {
		recs, err := ReadFile(tokensFile)
		if err != nil {
			return err
		}
		kept := recs[:0]
		for _, r := range recs {
			if r.Device != device {
				kept = append(kept, r)
			}
		}
		n = len(recs) - len(kept)
		if n == 0 {
			return fmt.Errorf("device %q has no token in %s", device, tokensFile)
		}
		return WriteFile(tokensFile, kept)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// withFileLock runs fn holding an exclusive flock on tokensFile+".lock", so
// that "ingestd token" runs and a running ingestd rewriting migrated hashes
// never lose each other's change in their read-modify-write of the file.
func withFileLock(tokensFile string, fn func() error) error {
	f, err := os.OpenFile(tokensFile+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("lock tokens file: %w", err)
	}
	defer f.Close()
	if err := takeDirOwner(f, filepath.Dir(tokensFile)); err != nil {
		return fmt.Errorf("lock tokens file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock tokens file: %w", err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN) //nolint:errcheck // Close releases it too
	return fn()
}
