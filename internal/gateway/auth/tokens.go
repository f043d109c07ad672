// Package auth authenticates devices to ingestd with bearer tokens.
//
// A token is "igd.<id>.<secret>": the id selects one line of the tokens file,
// and the secret is checked against a salted argon2id hash (bcrypt hashes are
// accepted too). The tokens file never holds a usable token. Each line is
//
//	<device> <token id> <hash>
//
// Verifying a slow hash on every request would cap throughput and invite
// denial of service, so an Authenticator remembers the SHA-256 digest of each
// token it has verified once and compares later presentations against it in
// constant time. Slow verifications run at most a few at a time, and failed
// digests are remembered too, so a flood of bad tokens cannot exhaust the CPU.
package auth

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// TokenPrefix starts every ingestd token.
const TokenPrefix = "igd."

// MaxFileBytes caps the size of a tokens file.
const MaxFileBytes = 4 << 20

// ErrInvalidToken is returned for a token that is malformed, unknown, revoked
// or wrong. The caller answers 401 and never says which.
var ErrInvalidToken = errors.New("invalid token")

var (
	deviceRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$`)
	tokenIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)
)

// ValidDevice reports whether id is an acceptable device id: 1-128 letters,
// digits and . _ : @ -, starting with a letter or digit.
func ValidDevice(id string) bool { return deviceRE.MatchString(id) }

// Record is one line of the tokens file.
type Record struct {
	// Device is the device the token authenticates.
	Device string
	// ID is the public token id (the middle part of the token).
	ID string
	// Hash is the PHC-encoded salted slow hash of the whole token.
	Hash string
}

// ParseFile reads a tokens file. Blank lines and lines starting with # are
// ignored; any other malformed line is an error naming its line number.
func ParseFile(r io.Reader) ([]Record, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("tokens file is larger than %d bytes", MaxFileBytes)
	}
	var recs []Record
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxFileBytes)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		if len(f) != 3 {
			return nil, fmt.Errorf("tokens line %d: want \"<device> <token id> <hash>\", got %d fields", line, len(f))
		}
		rec := Record{Device: f[0], ID: f[1], Hash: f[2]}
		if !ValidDevice(rec.Device) {
			return nil, fmt.Errorf("tokens line %d: invalid device id %q", line, rec.Device)
		}
		if !tokenIDRE.MatchString(rec.ID) {
			return nil, fmt.Errorf("tokens line %d: invalid token id %q", line, rec.ID)
		}
		if prev, dup := seen[rec.ID]; dup {
			return nil, fmt.Errorf("tokens line %d: token id %q already used on line %d", line, rec.ID, prev)
		}
		if err := checkHash(rec.Hash); err != nil {
			return nil, fmt.Errorf("tokens line %d: %w", line, err)
		}
		seen[rec.ID] = line
		recs = append(recs, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	return recs, nil
}

// ReadFile reads and parses the tokens file at path.
func ReadFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open tokens file: %w", err)
	}
	defer f.Close()
	recs, err := ParseFile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return recs, nil
}

const fileHeader = "# ingestd tokens: <device> <token id> <salted hash>. Managed by \"ingestd token add/revoke\"; mode 0600.\n"

// WriteFile replaces the tokens file atomically with mode 0600: it writes a
// temporary file in the same directory, fsyncs it and renames it.
func WriteFile(path string, recs []Record) error {
	var b bytes.Buffer
	b.WriteString(fileHeader)
	for _, r := range recs {
		fmt.Fprintf(&b, "%s %s %s\n", r.Device, r.ID, r.Hash)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tokens-*")
	if err != nil {
		return fmt.Errorf("write tokens file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := takeDirOwner(tmp, dir); err != nil {
		tmp.Close()
		return fmt.Errorf("write tokens file: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write tokens file: %w", err)
	}
	if _, err := tmp.Write(b.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("write tokens file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write tokens file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write tokens file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write tokens file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// NewToken returns a fresh random token and its record for device.
func NewToken(device string) (string, Record, error) {
	if !ValidDevice(device) {
		return "", Record{}, fmt.Errorf("invalid device id %q: use 1-128 letters, digits and . _ : @ -", device)
	}
	idBytes := make([]byte, 9)
	secret := make([]byte, 32)
	if _, err := rand.Read(idBytes); err != nil {
		return "", Record{}, fmt.Errorf("generate token: %w", err)
	}
	if _, err := rand.Read(secret); err != nil {
		return "", Record{}, fmt.Errorf("generate token: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(idBytes)
	token := TokenPrefix + id + "." + base64.RawURLEncoding.EncodeToString(secret)
	hash, err := HashToken(token)
	if err != nil {
		return "", Record{}, err
	}
	return token, Record{Device: device, ID: id, Hash: hash}, nil
}

// AddToken creates a token for device, stores its hash in tokensFile
// (creating the file with mode 0600 when missing) and returns the token. It
// is shown once: only the hash is kept. A device may hold several tokens,
// which allows rotation without downtime.
func AddToken(tokensFile, device string) (string, error) {
	var token string
	err := withFileLock(tokensFile, func() error {
		recs, err := ReadFile(tokensFile)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		var rec Record
		token, rec, err = NewToken(device)
		if err != nil {
			return err
		}
		return WriteFile(tokensFile, append(recs, rec))
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// withFileLock runs fn holding an exclusive flock on tokensFile+".lock", so
// that two "ingestd token add/revoke" runs never lose each other's change
// in their read-modify-write of the tokens file.
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

// splitToken returns the id of a well-formed token.
func splitToken(token string) (id string, ok bool) {
	rest, ok := strings.CutPrefix(token, TokenPrefix)
	if !ok {
		return "", false
	}
	id, secret, ok := strings.Cut(rest, ".")
	if !ok || !tokenIDRE.MatchString(id) || len(secret) < 16 || len(secret) > 256 {
		return "", false
	}
	return id, true
}

// Set is an immutable set of token records with a cache of verified digests.
type Set struct {
	byID map[string]Record

	mu       sync.RWMutex
	verified map[string][sha256.Size]byte // token id → digest of the verified token
	failed   map[[sha256.Size]byte]struct{}
}

// maxFailed bounds the cache of rejected token digests.
const maxFailed = 4096

// NewSet builds a Set from records.
func NewSet(recs []Record) *Set {
	s := &Set{
		byID:     make(map[string]Record, len(recs)),
		verified: map[string][sha256.Size]byte{},
		failed:   map[[sha256.Size]byte]struct{}{},
	}
	for _, r := range recs {
		s.byID[r.ID] = r
	}
	return s
}

// Len is the number of tokens in the set.
func (s *Set) Len() int { return len(s.byID) }

// Devices returns the number of distinct devices.
func (s *Set) Devices() int {
	d := map[string]bool{}
	for _, r := range s.byID {
		d[r.Device] = true
	}
	return len(d)
}

// inherit copies the verified digests of unchanged records from old.
func (s *Set) inherit(old *Set) {
	if old == nil {
		return
	}
	old.mu.RLock()
	defer old.mu.RUnlock()
	for id, d := range old.verified {
		if r, ok := s.byID[id]; ok && old.byID[id] == r {
			s.verified[id] = d
		}
	}
}

// Authenticator verifies bearer tokens against a tokens file it can reload.
type Authenticator struct {
	path string
	set  atomic.Pointer[Set]
	slow chan struct{} // bounds concurrent slow-hash verifications

	slowCount atomic.Int64 // slow verifications done, for tests and metrics
}

// SlowVerifications is the number of slow-hash verifications done so far.
func (a *Authenticator) SlowVerifications() int64 { return a.slowCount.Load() }

// NewAuthenticator loads the tokens file at path.
func NewAuthenticator(path string) (*Authenticator, error) {
	a := &Authenticator{path: path, slow: make(chan struct{}, 2)}
	if err := a.Reload(); err != nil {
		return nil, err
	}
	return a, nil
}

// Reload reads the tokens file again. The new set replaces the old one only
// when the whole file is valid; on error the old set stays in force.
// Verified digests of unchanged tokens survive; revoked tokens stop working.
func (a *Authenticator) Reload() error {
	recs, err := ReadFile(a.path)
	if err != nil {
		return err
	}
	s := NewSet(recs)
	s.inherit(a.set.Load())
	a.set.Store(s)
	return nil
}

// Len is the number of tokens in force.
func (a *Authenticator) Len() int { return a.set.Load().Len() }

// Devices is the number of devices holding a token.
func (a *Authenticator) Devices() int { return a.set.Load().Devices() }

// Verify returns the device a token belongs to, or ErrInvalidToken.
func (a *Authenticator) Verify(token string) (string, error) {
	s := a.set.Load()
	id, ok := splitToken(token)
	if !ok {
		return "", ErrInvalidToken
	}
	rec, ok := s.byID[id]
	if !ok {
		return "", ErrInvalidToken
	}
	digest := sha256.Sum256([]byte(token))
	s.mu.RLock()
	want, known := s.verified[id]
	_, bad := s.failed[digest]
	s.mu.RUnlock()
	if known {
		// The right token for this id is known; anything else is wrong,
		// without paying for the slow hash.
		if subtle.ConstantTimeCompare(want[:], digest[:]) == 1 {
			return rec.Device, nil
		}
		return "", ErrInvalidToken
	}
	if bad {
		return "", ErrInvalidToken
	}
	a.slow <- struct{}{}
	a.slowCount.Add(1)
	ok = verifyHash(rec.Hash, token)
	<-a.slow
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ok {
		if len(s.failed) >= maxFailed {
			clear(s.failed)
		}
		s.failed[digest] = struct{}{}
		return "", ErrInvalidToken
	}
	s.verified[id] = digest
	return rec.Device, nil
}
