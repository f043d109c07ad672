package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hardgate/hardgate/internal/gateway/queue"
)

// commitMetrics describe the queue's pipelined group commit: how many
// operations share a transaction, how long the transaction and the WAL
// sync take, and how long a committed group waits to be durable. With
// ingestd_queue_append_duration_seconds (what a request sees) they split
// a request's commit wait into its stages.
type commitMetrics struct {
	commits     prometheus.Counter
	ops         prometheus.Histogram
	transaction prometheus.Histogram
	sync        prometheus.Histogram
	durable     prometheus.Histogram
}

// latencyBuckets, in seconds, for the commit stages.
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .002, .005, .01, .025, .05, .1, .25, 1}

func newCommitMetrics(reg prometheus.Registerer) (*commitMetrics, error) {
	m := &commitMetrics{
		commits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ingestd_queue_commits_total",
			Help: "Group commits (transactions) of the local queue.",
		}),
		ops: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ingestd_queue_commit_operations",
			Help:    "Operations (appends and acknowledgements) sharing one group commit.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 1024},
		}),
		transaction: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ingestd_queue_commit_transaction_seconds",
			Help:    "Time of a group commit's transaction, BEGIN to COMMIT, without the WAL sync.",
			Buckets: latencyBuckets,
		}),
		sync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ingestd_queue_commit_sync_seconds",
			Help:    "Time of the WAL fdatasync that made a group commit durable (one sync may serve several groups).",
			Buckets: latencyBuckets,
		}),
		durable: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ingestd_queue_commit_durable_wait_seconds",
			Help:    "Time from the end of a group's transaction to the end of the WAL sync that made it durable.",
			Buckets: latencyBuckets,
		}),
	}
	for _, c := range []prometheus.Collector{m.commits, m.ops, m.transaction, m.sync, m.durable} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// observe records one group commit (queue.Options.OnCommit).
func (m *commitMetrics) observe(ci queue.CommitInfo) {
	m.commits.Inc()
	m.ops.Observe(float64(ci.Ops))
	m.transaction.Observe(ci.Transaction.Seconds())
	m.sync.Observe(ci.Sync.Seconds())
	m.durable.Observe(ci.Wait.Seconds())
}
