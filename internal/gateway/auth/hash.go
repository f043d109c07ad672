package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2id parameters for new hashes: the OWASP password storage
// recommendation m=12 MiB, t=3, p=1, small enough for a Raspberry Pi.
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
)

// HashToken returns the PHC-encoded argon2id hash of token with a fresh salt:
// $argon2id$v=19$m=12288,t=3,p=1$<salt>$<key>.
func HashToken(token string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash token: %w", err)
	}
	key := argon2.IDKey([]byte(token), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

type argonHash struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
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

// checkHash validates the encoding of a stored hash.
func checkHash(h string) error {
	switch {
	case strings.HasPrefix(h, "$argon2id$"):
		_, err := parseArgon(h)
		return err
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		cost, err := bcrypt.Cost([]byte(h))
		if err != nil {
			return fmt.Errorf("malformed bcrypt hash: %w", err)
		}
		if cost > 14 {
			return fmt.Errorf("bcrypt cost %d out of bounds (<=14)", cost)
		}
		return nil
	}
	return errors.New("unsupported hash: want $argon2id$ or bcrypt ($2a$, $2b$, $2y$)")
}

// verifyHash checks token against a stored hash in constant time.
func verifyHash(h, token string) bool {
	if strings.HasPrefix(h, "$argon2id$") {
		a, err := parseArgon(h)
		if err != nil {
			return false
		}
		key := argon2.IDKey([]byte(token), a.salt, a.time, a.memory, a.threads, uint32(len(a.key)))
		return subtle.ConstantTimeCompare(key, a.key) == 1
	}
	return bcrypt.CompareHashAndPassword([]byte(h), []byte(token)) == nil
}
