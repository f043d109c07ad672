package auth

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// MigrateStats is what Migrate did.
type MigrateStats struct {
	// Migrated is the number of lines rewritten as SHA-256.
	Migrated int
	// Skipped counts presented tokens that matched no legacy line (unknown,
	// already SHA-256, wrong secret, or a secret shorter than 256 bits).
	Skipped int
	// Remaining is the number of legacy lines left in the file; each moves
	// to SHA-256 on its first successful use by a running ingestd.
	Remaining int
}

// Migrate moves legacy (argon2id, bcrypt) lines of tokensFile to SHA-256 for
// the tokens given: the file holds only slow hashes, so a token can be moved
// only by someone who presents it. Each token is checked with the slow hash
// first; lines are rewritten atomically under the file's lock.
func Migrate(tokensFile string, tokens []string) (MigrateStats, error) {
	recs, err := ReadFile(tokensFile)
	if err != nil {
		return MigrateStats{}, err
	}
	byID := make(map[string]Record, len(recs))
	for _, r := range recs {
		byID[r.ID] = r
	}
	var st MigrateStats
	pending := map[string]rehash{}
	for _, tok := range tokens {
		tok = strings.TrimSpace(tok)
		id, secret, ok := splitToken(tok)
		r, known := byID[id]
		if !ok || !known || len(secret) < fastSecretLen {
			st.Skipped++
			continue
		}
		h, err := parseHash(r.Hash)
		if err != nil || h.method == MethodSHA256 || !h.verifySlow(tok) {
			st.Skipped++
			continue
		}
		pending[id] = rehash{old: r.Hash, hash: HashToken(tok)}
	}
	if len(pending) > 0 {
		if st.Migrated, err = applyRehash(tokensFile, pending); err != nil {
			return st, fmt.Errorf("migrate: %w", err)
		}
	}
	recs, err = ReadFile(tokensFile)
	if err != nil {
		return st, err
	}
	for _, r := range recs {
		if !strings.HasPrefix(r.Hash, sha256Prefix) {
			st.Remaining++
		}
	}
	return st, nil
}

// Listing is one token as "ingestd token list" shows it: never the secret
// nor the hash.
type Listing struct {
	Device   string
	ID       string
	Method   string
	Created  time.Time // zero: unknown
	Expires  time.Time // zero: never
	LastUsed time.Time // zero: never seen (by a running ingestd that persisted it)
}

// List returns every token of tokensFile with its last use, sorted by
// device, then creation time, then id.
func List(tokensFile string) ([]Listing, error) {
	recs, err := ReadFile(tokensFile)
	if err != nil {
		return nil, err
	}
	used, err := ReadLastUsed(LastUsedFile(tokensFile))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", LastUsedFile(tokensFile), err)
	}
	out := make([]Listing, 0, len(recs))
	for _, r := range recs {
		h, _ := parseHash(r.Hash) // ReadFile checked it
		out = append(out, Listing{Device: r.Device, ID: r.ID, Method: h.method, Created: r.Created, Expires: r.Expires, LastUsed: used[r.ID]})
	}
	slices.SortFunc(out, func(a, b Listing) int {
		if c := strings.Compare(a.Device, b.Device); c != 0 {
			return c
		}
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}
