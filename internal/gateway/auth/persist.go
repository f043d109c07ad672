package auth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"time"
)

// rehash is a legacy record to be rewritten as SHA-256 of its token.
type rehash struct {
	old, hash string
}

// queueRehash remembers that rec's token was verified, so that Persist
// rewrites its line as SHA-256. Only a token with a 256-bit secret is moved.
func (a *Authenticator) queueRehash(rec Record, token string) {
	a.mu.Lock()
	a.rehash[rec.ID] = rehash{old: rec.Hash, hash: HashToken(token)}
	a.mu.Unlock()
}

// PendingMigrations is the number of verified legacy tokens not yet
// rewritten as SHA-256 in the tokens file.
func (a *Authenticator) PendingMigrations() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.rehash)
}

// Persist writes what the Authenticator learned to disk: legacy hashes of
// tokens verified since the last call are replaced by SHA-256 in the tokens
// file (under its lock, atomically, mode 0600), and last uses go to the
// last-use file. The tokens in force change only on Reload. It returns the
// number of lines migrated.
func (a *Authenticator) Persist() (int, error) {
	n, err := a.flushRehash()
	if a.usedDirty.Swap(false) {
		if uerr := a.writeLastUsed(); uerr != nil {
			a.usedDirty.Store(true)
			err = errors.Join(err, uerr)
		}
	}
	return n, err
}

func (a *Authenticator) flushRehash() (int, error) {
	a.mu.Lock()
	pending := a.rehash
	a.rehash = map[string]rehash{}
	a.mu.Unlock()
	if len(pending) == 0 {
		return 0, nil
	}
	n, err := applyRehash(a.path, pending)
	if err != nil {
		a.mu.Lock()
		for id, r := range pending {
			if _, again := a.rehash[id]; !again {
				a.rehash[id] = r
			}
		}
		a.mu.Unlock()
		return 0, fmt.Errorf("migrate tokens to sha256: %w", err)
	}
	return n, nil
}

// applyRehash rewrites, in tokensFile, each line whose id is in pending and
// whose hash is still the old one, with the new hash. Lines changed in the
// meantime (revoked, rotated) are left alone.
func applyRehash(tokensFile string, pending map[string]rehash) (int, error) {
	n := 0
	err := withFileLock(tokensFile, func() error {
		recs, err := ReadFile(tokensFile)
		if err != nil {
			return err
		}
		for i, r := range recs {
			if p, ok := pending[r.ID]; ok && p.old == r.Hash {
				recs[i].Hash = p.hash
				n++
			}
		}
		if n == 0 {
			return nil
		}
		return WriteFile(tokensFile, recs)
	})
	return n, err
}

// LastUsedFile is where an Authenticator keeps the last use of each token:
// beside the tokens file, "<tokens file>.used", lines "<token id> <unix seconds>".
func LastUsedFile(tokensFile string) string { return tokensFile + ".used" }

// maxLastUsedBytes caps the last-use file.
const maxLastUsedBytes = 16 << 20

// ReadLastUsed reads a last-use file. A missing file is an empty map;
// malformed lines are an error naming the line.
func ReadLastUsed(path string) (map[string]time.Time, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]time.Time{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseLastUsed(f)
}

// ParseLastUsed parses the lines "<token id> <unix seconds>" of a last-use file.
func ParseLastUsed(r io.Reader) (map[string]time.Time, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxLastUsedBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxLastUsedBytes {
		return nil, fmt.Errorf("last-use file is larger than %d bytes", maxLastUsedBytes)
	}
	out := map[string]time.Time{}
	for line := 1; len(data) > 0; line++ {
		var text []byte
		text, data, _ = bytes.Cut(data, []byte{'\n'})
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		id, secs, ok := bytes.Cut(text, []byte{' '})
		v, err := strconv.ParseInt(string(secs), 10, 64)
		if !ok || !validTokenID(string(id)) || err != nil || v <= 0 || v > 1<<40 {
			return nil, fmt.Errorf("last-use line %d: want \"<token id> <unix seconds>\"", line)
		}
		out[string(id)] = time.Unix(v, 0).UTC()
	}
	return out, nil
}

// loadLastUsed seeds s with the last-use file; a broken file is ignored
// (it only informs "ingestd token list") and remembered for UsedFileError.
func (a *Authenticator) loadLastUsed(s *Set) {
	used, err := ReadLastUsed(LastUsedFile(a.path))
	a.mu.Lock()
	a.usedErr = err
	a.mu.Unlock()
	for id, t := range used {
		if e, ok := s.byID[id]; ok {
			e.lastUsed.Store(t.Unix())
		}
	}
}

// UsedFileError is the error of reading the last-use file at start, if any.
func (a *Authenticator) UsedFileError() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.usedErr
}

func (a *Authenticator) writeLastUsed() error {
	s := a.set.Load()
	ids := make([]string, 0, len(s.byID))
	for id, e := range s.byID {
		if e.lastUsed.Load() > 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	b := make([]byte, 0, len(ids)*24)
	for _, id := range ids {
		b = append(b, id...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, s.byID[id].lastUsed.Load(), 10)
		b = append(b, '\n')
	}
	if err := writeAtomic(LastUsedFile(a.path), b); err != nil {
		return fmt.Errorf("write last-use file: %w", err)
	}
	return nil
}
