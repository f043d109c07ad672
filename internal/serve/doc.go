// Package serve is the retainer as a service (hardgate serve): it audits
// every target of a fleet on its schedule, keeps every result in the
// history (package store), compares each with the target's baseline, raises
// signed webhook alerts when a target drifts, exports Prometheus metrics and
// serves a dashboard.
//
// Stages, each in its own file:
//
//   - config.go: Default -> Parse (strict YAML) -> Validate (field errors);
//   - schedule.go, scheduler.go: when each target runs (interval or cron,
//     jitter, per-label overrides, one catch-up run after a restart), with
//     bounded concurrency and never two runs of one target at once;
//   - target.go: the targets and the Executor that runs one audit (the
//     local audit engine; site agents plug in here);
//   - judge.go: baselines and drift states, one alert per state change;
//   - webhook.go: the alert outbox delivered with HMAC-SHA256 signatures,
//     retried with backoff, never blocking audits;
//   - metrics.go, web*.go, auth.go: /metrics, the dashboard, roles and CSRF.
package serve
