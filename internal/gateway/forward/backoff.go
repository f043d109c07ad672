package forward

import (
	"context"
	"time"
)

// delay is the wait before retry number attempt (1-based): full jitter,
// uniform in [0, min(BackoffMax, BackoffMin·2^(attempt-1))]. An upstream's
// Retry-After raises it, but never above BackoffMax.
func (d *Dispatcher) delay(attempt int, retryAfter time.Duration) time.Duration {
	return backoffDelay(attempt, d.opts.BackoffMin, d.opts.BackoffMax, retryAfter, d.randN)
}

func backoffDelay(attempt int, lo, hi, retryAfter time.Duration, randN func(int64) int64) time.Duration {
	ceiling := lo
	for i := 1; i < attempt && ceiling < hi; i++ {
		if ceiling > hi/2 {
			ceiling = hi
			break
		}
		ceiling *= 2
	}
	ceiling = min(ceiling, hi)
	delay := time.Duration(randN(int64(ceiling) + 1))
	return min(max(delay, retryAfter), hi)
}

// sleep waits for d or ctx; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
