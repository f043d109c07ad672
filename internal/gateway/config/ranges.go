package config

import (
	"fmt"
	"math"
	"time"
)

// The range of every size, count, rate and duration in the config. A value
// outside it is a *FieldError naming the field and the range, never a
// config that validates and then misbehaves (a max_body_bytes of 2^63-1
// once overflowed the body cap and made every request a 400).
const (
	maxStoreBytes    = 1 << 40 // 1 TiB
	maxBodyBytes     = 64 << 20
	maxRatePerDevice = 1e6
	maxRateBurst     = 1_000_000
	maxConnections   = 100_000
	maxInFlight      = 1024
	minBackoff       = time.Millisecond
	maxBackoffMin    = time.Hour
	maxBackoffMax    = 24 * time.Hour
	minHTTPTimeout   = 100 * time.Millisecond
	maxHTTPTimeout   = 10 * time.Minute
	minKeyRetention  = time.Minute
	maxKeyRetention  = 30 * 24 * time.Hour
)

// validateRanges checks every numeric field against its range.
func (c *Config) validateRanges() []error {
	var errs []error
	intRange := func(field string, v, lo, hi int64, unit string) {
		if v < lo || v > hi {
			errs = append(errs, &FieldError{Field: field, Value: v, Msg: fmt.Sprintf("must be %d to %d%s", lo, hi, unit)})
		}
	}
	durRange := func(field string, v Duration, lo, hi time.Duration) {
		if d := time.Duration(v); d < lo || d > hi {
			errs = append(errs, &FieldError{Field: field, Value: d.String(), Msg: fmt.Sprintf("must be %s to %s", lo, hi)})
		}
	}
	intRange("store.max_bytes", c.Store.MaxBytes, 1, maxStoreBytes, " bytes (1 TiB)")
	intRange("limits.max_body_bytes", c.Limits.MaxBodyBytes, 1, maxBodyBytes, " bytes (64 MiB)")
	if c.Limits.MaxBodyBytes > c.Store.MaxBytes && c.Store.MaxBytes > 0 {
		errs = append(errs, &FieldError{Field: "limits.max_body_bytes", Value: c.Limits.MaxBodyBytes, Msg: "must not exceed store.max_bytes"})
	}
	if r := c.Limits.RatePerDevice; math.IsNaN(r) || r < 0 || r > maxRatePerDevice {
		errs = append(errs, &FieldError{Field: "limits.rate_per_device", Value: r, Msg: fmt.Sprintf("must be 0 (unlimited) to %g requests per second", float64(maxRatePerDevice))})
	}
	burstMin := int64(0)
	if c.Limits.RatePerDevice > 0 {
		burstMin = 1 // a bucket that holds no token refuses everything
	}
	intRange("limits.rate_burst", int64(c.Limits.RateBurst), burstMin, maxRateBurst, "")
	intRange("limits.max_connections", int64(c.Limits.MaxConnections), 1, maxConnections, "")
	intRange("forward.max_in_flight", int64(c.Forward.MaxInFlight), 1, maxInFlight, "")
	durRange("forward.backoff_min", c.Forward.BackoffMin, minBackoff, maxBackoffMin)
	durRange("forward.backoff_max", c.Forward.BackoffMax, max(time.Duration(c.Forward.BackoffMin), minBackoff), maxBackoffMax)
	durRange("forward.http.timeout", c.Forward.HTTP.Timeout, minHTTPTimeout, maxHTTPTimeout)
	durRange("store.idempotency_retention", c.Store.IdempotencyRetention, minKeyRetention, maxKeyRetention)
	return errs
}
