package auth

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxFailedPerID bounds the remembered wrong digests of one legacy token id.
const maxFailedPerID = 64

// legacyState is what a legacy (argon2id or bcrypt) token id needs so that
// its slow hash is paid rarely: the digest verified once, the wrong digests
// already refused, the verifications in flight (shared by everyone
// presenting the same token) and a budget of slow verifications.
type legacyState struct {
	mu       sync.Mutex
	verified *[sha256.Size]byte
	failed   map[[sha256.Size]byte]struct{}
	inflight map[[sha256.Size]byte]*flight
	budget   *rate.Limiter
}

// flight is one slow verification in progress.
type flight struct {
	done chan struct{}
	ok   bool
	err  error // set when the verification did not run (context ended)
}

func newLegacyState(o Options) *legacyState {
	return &legacyState{budget: rate.NewLimiter(rate.Every(o.SlowEvery), o.SlowBurst)}
}

func (l *legacyState) inherit(old *legacyState) {
	old.mu.Lock()
	v := old.verified
	old.mu.Unlock()
	l.verified = v
}

// verifyLegacy checks token against a legacy entry and returns the method
// that decided and nil, ErrInvalidToken, ErrThrottled or ctx's error.
func (a *Authenticator) verifyLegacy(ctx context.Context, e *entry, token, secret string, digest [sha256.Size]byte, now time.Time) (string, error) {
	l := e.legacy
	l.mu.Lock()
	if v := l.verified; v != nil {
		// The right token for this id is known: anything else is wrong,
		// without paying for the slow hash.
		l.mu.Unlock()
		if ctCompare(v[:], digest[:]) == 1 {
			return MethodCache, nil
		}
		return MethodCache, ErrInvalidToken
	}
	if _, bad := l.failed[digest]; bad {
		l.mu.Unlock()
		return MethodCache, ErrInvalidToken
	}
	if f := l.inflight[digest]; f != nil {
		l.mu.Unlock()
		return e.hash.method, f.wait(ctx)
	}
	if !l.budget.AllowN(now, 1) {
		l.mu.Unlock()
		return e.hash.method, ErrThrottled
	}
	f := &flight{done: make(chan struct{})}
	if l.inflight == nil {
		l.inflight = map[[sha256.Size]byte]*flight{}
	}
	l.inflight[digest] = f
	l.mu.Unlock()

	f.ok, f.err = a.runSlow(ctx, e, token)
	l.mu.Lock()
	delete(l.inflight, digest)
	switch {
	case f.err != nil:
	case f.ok:
		l.verified = &digest
	default:
		if len(l.failed) >= maxFailedPerID || l.failed == nil {
			l.failed = map[[sha256.Size]byte]struct{}{}
		}
		l.failed[digest] = struct{}{}
	}
	l.mu.Unlock()
	close(f.done)
	if f.ok && len(secret) >= fastSecretLen {
		a.queueRehash(e.rec, token)
	}
	return e.hash.method, f.result()
}

// runSlow runs one slow verification once a global slot is free.
func (a *Authenticator) runSlow(ctx context.Context, e *entry, token string) (bool, error) {
	select {
	case a.slow <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-a.slow }()
	a.slowCount.Add(1)
	return e.hash.verifySlow(token), nil
}

func (f *flight) result() error {
	switch {
	case f.err != nil:
		return f.err
	case !f.ok:
		return ErrInvalidToken
	}
	return nil
}

// wait joins a verification in flight.
func (f *flight) wait(ctx context.Context) error {
	select {
	case <-f.done:
		return f.result()
	case <-ctx.Done():
		return ctx.Err()
	}
}
