package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Hash methods, as they appear in metrics and "ingestd token list".
const (
	MethodSHA256   = "sha256"
	MethodArgon2id = "argon2id"
	MethodBcrypt   = "bcrypt"
)

// sha256Prefix starts the stored form of a token made by ingestd:
// "$sha256$" and the unpadded standard base64 of SHA-256(token).
const sha256Prefix = "$sha256$"

// HashToken returns the stored form of a token made by ingestd: its SHA-256
// digest. The token holds a 256-bit random secret, so the digest cannot be
// reversed or guessed; docs/ingestd.md has the threat model.
func HashToken(token string) string {
	d := sha256.Sum256([]byte(token))
	return sha256Prefix + base64.RawStdEncoding.EncodeToString(d[:])
}

// Argon2id parameters of legacy hashes made by HashArgon2id: the OWASP
// password storage recommendation m=12 MiB, t=3, p=1.
const (
	argonMemoryKiB = 12 * 1024
	argonTime      = 3
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// Bounds on parameters read from a tokens file, so a tampered file cannot
// make one verification take gigabytes or minutes.
const (
	maxArgonMemoryKiB = 64 * 1024
	maxArgonTime      = 10
	maxArgonThreads   = 4
	maxBcryptCost     = 14
)

// HashArgon2id returns the PHC-encoded argon2id hash of token with a fresh
// salt, the form older ingestd versions stored:
// $argon2id$v=19$m=12288,t=3,p=1$<salt>$<key>. Such entries still verify
// (once, then cached) and are moved to SHA-256 on first successful use.
func HashArgon2id(token string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash token: %w", err)
	}
	key := argon2.IDKey([]byte(token), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// storedHash is a parsed stored hash.
type storedHash struct {
	method string
	digest [sha256.Size]byte // sha256
	argon  argonHash         // argon2id
	bcrypt []byte            // bcrypt
}

type argonHash struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

// parseHash decodes and bounds-checks a stored hash.
func parseHash(h string) (storedHash, error) {
	switch {
	case strings.HasPrefix(h, sha256Prefix):
		var s storedHash
		n, err := base64.RawStdEncoding.Decode(s.digest[:], []byte(h[len(sha256Prefix):]))
		if err != nil || n != sha256.Size || len(h) != len(sha256Prefix)+base64.RawStdEncoding.EncodedLen(sha256.Size) {
			return storedHash{}, errors.New("malformed sha256 hash")
		}
		s.method = MethodSHA256
		return s, nil
	case strings.HasPrefix(h, "$argon2id$"):
		a, err := parseArgon(h)
		return storedHash{method: MethodArgon2id, argon: a}, err
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		cost, err := bcrypt.Cost([]byte(h))
		if err != nil {
			return storedHash{}, fmt.Errorf("malformed bcrypt hash: %w", err)
		}
		if cost > maxBcryptCost {
			return storedHash{}, fmt.Errorf("bcrypt cost %d out of bounds (<=%d)", cost, maxBcryptCost)
		}
		return storedHash{method: MethodBcrypt, bcrypt: []byte(h)}, nil
	}
	return storedHash{}, errors.New("unsupported hash: want $sha256$, $argon2id$ or bcrypt ($2a$, $2b$, $2y$)")
}

func parseArgon(h string) (argonHash, error) {
	parts := strings.Split(h, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return argonHash{}, errors.New("malformed argon2id hash")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return argonHash{}, fmt.Errorf("unsupported argon2id version %q", parts[2])
	}
	var a argonHash
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &a.memory, &a.time, &threads); err != nil {
		return argonHash{}, fmt.Errorf("malformed argon2id parameters %q", parts[3])
	}
	if a.memory < 8 || a.memory > maxArgonMemoryKiB || a.time < 1 || a.time > maxArgonTime || threads < 1 || threads > maxArgonThreads {
		return argonHash{}, fmt.Errorf("argon2id parameters %q out of bounds (m<=%d, t<=%d, p<=%d)", parts[3], maxArgonMemoryKiB, maxArgonTime, maxArgonThreads)
	}
	a.threads = uint8(threads)
	var err error
	if a.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(a.salt) < 8 {
		return argonHash{}, errors.New("malformed argon2id salt")
	}
	if a.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(a.key) < 16 || len(a.key) > 64 {
		return argonHash{}, errors.New("malformed argon2id key")
	}
	return a, nil
}

// verifySlow checks token against a legacy (argon2id or bcrypt) hash in
// constant time. It costs tens of milliseconds and megabytes by design.
func (h *storedHash) verifySlow(token string) bool {
	switch h.method {
	case MethodArgon2id:
		a := h.argon
		key := argon2.IDKey([]byte(token), a.salt, a.time, a.memory, a.threads, uint32(len(a.key)))
		return subtle.ConstantTimeCompare(key, a.key) == 1
	case MethodBcrypt:
		return bcrypt.CompareHashAndPassword(h.bcrypt, []byte(token)) == nil
	}
	return false
}
