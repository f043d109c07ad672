package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Names of the JetStream objects (see docs/agents.md).
const (
	// JobsStream is the work-queue stream of jobs, one subject per site.
	JobsStream = "HARDGATE_JOBS"
	// ResultsStream keeps the agents' results until serve has stored them.
	ResultsStream = "HARDGATE_RESULTS"
	// DeadStream keeps the dead letters.
	DeadStream = "HARDGATE_DEAD"
	// AgentsBucket is the KV bucket of heartbeats, key <site>.<agent>.
	AgentsBucket = "hardgate_agents"
	// ResultsConsumer is serve's durable consumer of the results stream.
	ResultsConsumer = "serve-results"
	// DeadConsumer is serve's durable consumer of the dead letters.
	DeadConsumer = "serve-dead"
)

// Subject prefixes; a site's subject is the prefix and the site name.
const (
	JobsPrefix    = "hardgate.jobs."
	ResultsPrefix = "hardgate.results."
	DeadPrefix    = "hardgate.dead."
)

// JobSubject is the subject of site's jobs.
func JobSubject(site string) string { return JobsPrefix + site }

// ResultSubject is the subject site's agents publish results to.
func ResultSubject(site string) string { return ResultsPrefix + site }

// DeadSubject is the dead-letter subject of site.
func DeadSubject(site string) string { return DeadPrefix + site }

// SiteConsumer is the durable pull consumer site's agents share.
func SiteConsumer(site string) string { return "site-" + site }

// InboxPrefix is the reply-subject prefix of site's agents: the server
// config lets an agent subscribe to its own site's inboxes only.
func InboxPrefix(site string) string { return "_INBOX_" + site }

// Defaults of the topology.
const (
	DefaultAckWait     = 30 * time.Second
	DefaultMaxAttempts = 3
	// DefaultDuplicates is how long JetStream remembers message ids: a job
	// or result published twice within it is stored once.
	DefaultDuplicates = 24 * time.Hour
	// DefaultHeartbeatTTL is how long an agent's heartbeat stays without
	// renewal (it renews every third of it).
	DefaultHeartbeatTTL = 15 * time.Second
)

// Topology is what Provision creates: the streams, one consumer per
// site, the heartbeat bucket.
type Topology struct {
	// Sites are the sites to create consumers for.
	Sites []string
	// AckWait is how long a job may go without an ack or a progress
	// signal before JetStream redelivers it (agents signal progress every
	// third of it while auditing).
	AckWait time.Duration
	// MaxAttempts is how many times a job is run before its next delivery
	// is dead-lettered.
	MaxAttempts int
	// Replicas of the streams (1 for a single server).
	Replicas int
	// HeartbeatTTL bounds how long a silent agent is listed.
	HeartbeatTTL time.Duration
}

func (t *Topology) defaults() {
	if t.AckWait <= 0 {
		t.AckWait = DefaultAckWait
	}
	if t.MaxAttempts <= 0 {
		t.MaxAttempts = DefaultMaxAttempts
	}
	if t.Replicas <= 0 {
		t.Replicas = 1
	}
	if t.HeartbeatTTL <= 0 {
		t.HeartbeatTTL = DefaultHeartbeatTTL
	}
}

// Provision creates or updates the streams, the sites' consumers and the
// heartbeat bucket. Everything is file-backed, so a NATS restart keeps
// every acknowledged job and result. It needs the server-side account's
// rights; agents never call it.
func Provision(ctx context.Context, js jetstream.JetStream, topo Topology) error {
	topo.defaults()
	for _, s := range topo.Sites {
		if err := checkName("site", s); err != nil {
			return err
		}
	}
	streams := []jetstream.StreamConfig{
		{Name: JobsStream, Subjects: []string{JobsPrefix + "*"}, Retention: jetstream.WorkQueuePolicy,
			Storage: jetstream.FileStorage, Duplicates: DefaultDuplicates, Replicas: topo.Replicas,
			MaxMsgSize: MaxJobBytes, Description: "hardgate audit jobs, one subject per site"},
		{Name: ResultsStream, Subjects: []string{ResultsPrefix + "*"}, Retention: jetstream.WorkQueuePolicy,
			Storage: jetstream.FileStorage, Duplicates: DefaultDuplicates, Replicas: topo.Replicas,
			MaxMsgSize: MaxResultBytes, Description: "hardgate audit results from site agents"},
		{Name: DeadStream, Subjects: []string{DeadPrefix + "*"}, Retention: jetstream.LimitsPolicy,
			Storage: jetstream.FileStorage, Duplicates: DefaultDuplicates, Replicas: topo.Replicas,
			MaxAge: 30 * 24 * time.Hour, MaxMsgSize: MaxJobBytes, Description: "hardgate jobs given up on"},
	}
	for _, cfg := range streams {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("provision stream %s: %w", cfg.Name, err)
		}
	}
	for _, s := range topo.Sites {
		cfg := jetstream.ConsumerConfig{Durable: SiteConsumer(s), FilterSubject: JobSubject(s),
			AckPolicy: jetstream.AckExplicitPolicy, AckWait: topo.AckWait,
			// One delivery more than the attempts: the agent that gets it
			// dead-letters the job instead of running it.
			MaxDeliver: topo.MaxAttempts + 1, MaxAckPending: 10_000,
			Description: "jobs of site " + s}
		if _, err := js.CreateOrUpdateConsumer(ctx, JobsStream, cfg); err != nil {
			return fmt.Errorf("provision consumer of site %s: %w", s, err)
		}
	}
	for _, c := range []struct{ stream, name string }{{ResultsStream, ResultsConsumer}, {DeadStream, DeadConsumer}} {
		cfg := jetstream.ConsumerConfig{Durable: c.name, AckPolicy: jetstream.AckExplicitPolicy,
			AckWait: 30 * time.Second, MaxAckPending: 10_000}
		if _, err := js.CreateOrUpdateConsumer(ctx, c.stream, cfg); err != nil {
			return fmt.Errorf("provision consumer %s: %w", c.name, err)
		}
	}
	_, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: AgentsBucket,
		TTL: topo.HeartbeatTTL, History: 1, Storage: jetstream.FileStorage, Replicas: topo.Replicas,
		Description: "hardgate agent heartbeats, key <site>.<agent>"})
	if err != nil {
		return fmt.Errorf("provision heartbeat bucket: %w", err)
	}
	return nil
}

// errNotProvisioned wraps a missing stream or consumer with a hint.
func errNotProvisioned(what string, err error) error {
	if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) ||
		errors.Is(err, jetstream.ErrBucketNotFound) {
		return fmt.Errorf("%s: %w (hardgate serve with an executor.nats config creates it)", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
