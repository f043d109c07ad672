// Package agent runs audits in networks the server cannot reach: site
// agents consume audit jobs from a NATS JetStream work queue (one subject
// per site, hardgate.jobs.<site>), run each with the ordinary audit engine
// (package audit, as `hardgate audit` and `--fleet` do), publish the
// result to the results stream and ack the job only after JetStream has
// acked the result. Heartbeats with version and load live in a KV bucket.
//
// The server side (Dispatcher) provisions the streams, the per-site
// consumers and the bucket, schedules jobs and consumes results, handing
// each to a store callback before acking it: a redelivered result carries
// the job's audit id and is stored once.
//
// Failures: a job whose agent dies is redelivered after the consumer's ack
// wait (agents signal progress while auditing); an attempt that panics or
// does not return within its deadline is given back; a job delivered more
// than its attempts is dead-lettered to hardgate.dead.<site>. Messages
// (Job, ResultMsg, DeadLetter) are versioned JSON, read strictly; schemas
// are docs/agent-job.schema.json and docs/agent-result.schema.json. See
// docs/agents.md.
package agent
