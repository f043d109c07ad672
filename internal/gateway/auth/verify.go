package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrInvalidToken is returned for a token that is malformed, unknown,
// expired, revoked or wrong. The caller answers 401 and never says which.
var ErrInvalidToken = errors.New("invalid token")

// ErrThrottled is returned when a legacy (slow-hash) token id has used up
// its budget of slow verifications; the caller answers 429 with Retry-After.
var ErrThrottled = errors.New("too many slow verifications for this token id")

// Outcomes of a verification, as they appear in metrics.
const (
	OutcomeOK        = "ok"
	OutcomeInvalid   = "invalid"    // wrong secret for a known id
	OutcomeUnknown   = "unknown_id" // no such token id
	OutcomeMalformed = "malformed"  // not "igd.<id>.<secret>"
	OutcomeExpired   = "expired"
	OutcomeThrottled = "throttled" // slow-verification budget of the id used up
	OutcomeCanceled  = "canceled"  // the request ended while waiting
	OutcomeRevoked   = "revoked"   // an mTLS certificate on the revocation list
)

// MethodCache is the method of a legacy token checked against the digest
// remembered after its one slow verification.
const MethodCache = "cache"

// Result says how a verification went, for logs and metrics.
type Result struct {
	// Device is the authenticated device; empty unless Outcome is ok.
	Device string
	// TokenID is the id part of a well-formed token.
	TokenID string
	// Method is sha256, argon2id, bcrypt or cache; empty when no stored
	// hash was consulted.
	Method string
	// Outcome is one of the Outcome constants.
	Outcome string
}

// Options configure an Authenticator; the zero value is the production one.
type Options struct {
	// Now is the clock for expiry and last use; nil is time.Now.
	Now func() time.Time
	// MaxSlow bounds concurrent slow-hash verifications (default 2).
	MaxSlow int
	// SlowEvery and SlowBurst bound slow verifications per token id: a
	// burst of SlowBurst, then one per SlowEvery (defaults 3 and 10 s).
	SlowEvery time.Duration
	SlowBurst int
}

// entry is one token in force.
type entry struct {
	rec      Record
	hash     storedHash
	lastUsed atomic.Int64 // Unix seconds of the last successful use, 0 never
	legacy   *legacyState // nil for sha256 entries
}

// Set is an immutable set of tokens in force.
type Set struct {
	byID    map[string]*entry
	devices int
}

func newSet(recs []Record, o Options) (*Set, error) {
	s := &Set{byID: make(map[string]*entry, len(recs))}
	devs := make(map[string]struct{})
	for _, r := range recs {
		h, err := parseHash(r.Hash)
		if err != nil {
			return nil, fmt.Errorf("token %s: %w", r.ID, err)
		}
		e := &entry{rec: r, hash: h}
		if h.method != MethodSHA256 {
			e.legacy = newLegacyState(o)
		}
		s.byID[r.ID] = e
		devs[r.Device] = struct{}{}
	}
	s.devices = len(devs)
	return s, nil
}

// inherit carries over from old what must survive a reload: the last use of
// every token id and the verified digest of unchanged legacy records.
func (s *Set) inherit(old *Set) {
	if old == nil {
		return
	}
	for id, e := range s.byID {
		o, ok := old.byID[id]
		if !ok {
			continue
		}
		e.lastUsed.Store(max(e.lastUsed.Load(), o.lastUsed.Load()))
		if e.legacy != nil && o.legacy != nil && o.rec == e.rec {
			e.legacy.inherit(o.legacy)
		}
	}
}

// Authenticator verifies bearer tokens against a tokens file it can reload.
type Authenticator struct {
	path string
	opts Options
	set  atomic.Pointer[Set]
	slow chan struct{} // bounds concurrent slow-hash verifications

	slowCount atomic.Int64 // slow verifications done, for tests and metrics
	usedDirty atomic.Bool  // a last use changed since Persist

	mu      sync.Mutex
	rehash  map[string]rehash // token id → pending move to SHA-256
	usedErr error             // last failure to read the last-use file
}

// NewAuthenticator loads the tokens file at path with default options.
func NewAuthenticator(path string) (*Authenticator, error) { return New(path, Options{}) }

// New loads the tokens file at path.
func New(path string, o Options) (*Authenticator, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxSlow <= 0 {
		o.MaxSlow = 2
	}
	if o.SlowEvery <= 0 {
		o.SlowEvery = 10 * time.Second
	}
	if o.SlowBurst <= 0 {
		o.SlowBurst = 3
	}
	a := &Authenticator{path: path, opts: o, slow: make(chan struct{}, o.MaxSlow), rehash: map[string]rehash{}}
	if err := a.Reload(); err != nil {
		return nil, err
	}
	return a, nil
}

// Reload reads the tokens file again. The new set replaces the old one in a
// single atomic swap, and only when the whole file is valid; on error the
// old set stays in force. Last uses and verified legacy digests of unchanged
// tokens survive; removed or expired tokens stop working at once.
func (a *Authenticator) Reload() error {
	recs, err := ReadFile(a.path)
	if err != nil {
		return err
	}
	s, err := newSet(recs, a.opts)
	if err != nil {
		return fmt.Errorf("%s: %w", a.path, err)
	}
	old := a.set.Load()
	if old == nil {
		a.loadLastUsed(s)
	}
	s.inherit(old)
	a.set.Store(s)
	return nil
}

// Len is the number of tokens in force.
func (a *Authenticator) Len() int { return len(a.set.Load().byID) }

// Devices is the number of devices holding a token.
func (a *Authenticator) Devices() int { return a.set.Load().devices }

// SlowVerifications is the number of slow-hash verifications done so far.
func (a *Authenticator) SlowVerifications() int64 { return a.slowCount.Load() }

// ctCompare is the only comparison of a presented digest with a stored one:
// constant time over the full length, whatever the inputs. It is a variable
// so that a test can check every path goes through it.
var ctCompare = subtle.ConstantTimeCompare

// digestOf is the SHA-256 of token; a token of usual length is hashed from
// a copy on the stack rather than a []byte conversion on the heap.
func digestOf(token string) [sha256.Size]byte {
	var buf [128]byte
	if len(token) <= len(buf) {
		n := copy(buf[:], token)
		return sha256.Sum256(buf[:n])
	}
	return sha256.Sum256([]byte(token))
}

// decoy is compared against when the token id is unknown, so that an
// unknown id costs the same hashing and comparison as a wrong secret.
var decoy [sha256.Size]byte

// Verify checks a bearer token. It returns the device in Result and nil, or
// ErrInvalidToken, ErrThrottled or ctx's error. Result is filled either way.
func (a *Authenticator) Verify(ctx context.Context, token string) (Result, error) {
	s := a.set.Load()
	id, secret, ok := splitToken(token)
	if !ok {
		return Result{Outcome: OutcomeMalformed}, ErrInvalidToken
	}
	res := Result{TokenID: id}
	digest := digestOf(token)
	e := s.byID[id]
	if e == nil {
		ctCompare(digest[:], decoy[:])
		res.Outcome = OutcomeUnknown
		return res, ErrInvalidToken
	}
	res.Method = e.hash.method
	now := a.opts.Now()
	if e.rec.ExpiredAt(now) {
		ctCompare(digest[:], decoy[:])
		res.Outcome = OutcomeExpired
		return res, ErrInvalidToken
	}
	if e.legacy == nil {
		if ctCompare(digest[:], e.hash.digest[:]) != 1 {
			res.Outcome = OutcomeInvalid
			return res, ErrInvalidToken
		}
	} else {
		method, err := a.verifyLegacy(ctx, e, token, secret, digest, now)
		res.Method = method
		switch {
		case errors.Is(err, ErrInvalidToken):
			res.Outcome = OutcomeInvalid
			return res, err
		case errors.Is(err, ErrThrottled):
			res.Outcome = OutcomeThrottled
			return res, err
		case err != nil:
			res.Outcome = OutcomeCanceled
			return res, err
		}
	}
	if t := now.Unix(); e.lastUsed.Load() < t {
		e.lastUsed.Store(t)
		a.usedDirty.Store(true)
	}
	res.Device, res.Outcome = e.rec.Device, OutcomeOK
	return res, nil
}
