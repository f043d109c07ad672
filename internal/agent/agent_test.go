package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/audit"
	"github.com/hardgate/hardgate/internal/fleet/fleettest"
	"github.com/hardgate/hardgate/internal/poll"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

func TestAgentRunsJobsOfItsSiteWithTheAuditEngine(t *testing.T) {
	srv := startEmbedded(t)
	c := newCollector()
	d := startDispatcher(t, srv.url(), Topology{Sites: []string{"north", "south"}, AckWait: 5 * time.Second}, c)
	dir := t.TempDir()
	ca := fleettest.NewCA(t, dir)
	fleettest.SetToken(t)
	strong, open := ca.Strong(t), fleettest.Open(t)
	// The real engine: no AuditFunc.
	runAgent(t, srv.url(), &Agent{Site: "north", Name: "n1", Parallel: 2})
	var southRan atomic.Int64
	runAgent(t, srv.url(), &Agent{Site: "south", Name: "s1", AuditFunc: func(ctx context.Context, t *spec.Target, o audit.Options) (*result.Result, error) {
		southRan.Add(1)
		return fakeAudit(ctx, t, o)
	}})
	tgt := func(name, url string) *spec.Target {
		t := spec.Default()
		t.Name, t.Ingest.URLs, t.Ingest.CAFile, t.Ingest.TokenEnv = name, []string{url}, ca.File, fleettest.TokenEnv
		t.Timeouts.Audit = spec.Duration(20 * time.Second)
		t.Complete()
		return &t
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cases := []struct {
		name, url, want string
	}{
		{"strong", strong, result.AuditPass},
		{"open", open, result.AuditFail},
	}
	for _, tc := range cases {
		res, err := d.Audit(ctx, "north", map[string]string{"site": "north"}, tgt(tc.name, tc.url))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if res.Summary.Status != tc.want || res.Target.Name != tc.name || len(res.Controls) == 0 {
			t.Errorf("%s: status %s with %d controls, want %s from the real engine", tc.name, res.Summary.Status, len(res.Controls), tc.want)
		}
		c.mu.Lock()
		rm := c.stored[res.AuditID]
		c.mu.Unlock()
		if rm == nil || rm.Agent != "n1" || rm.Site != "north" || rm.Attempt != 1 {
			t.Errorf("%s: stored message %+v, want one from agent n1 of north on its first attempt", tc.name, rm)
		}
	}
	if southRan.Load() != 0 {
		t.Errorf("the south agent ran %d north jobs", southRan.Load())
	}
}

func TestAgentReportsAJobItCannotRunAsAnError(t *testing.T) {
	srv := startEmbedded(t)
	c := newCollector()
	d := startDispatcher(t, srv.url(), Topology{Sites: []string{"north"}}, c)
	runAgent(t, srv.url(), &Agent{Site: "north", Name: "n1"})
	tg := target("gw-1")
	tg.Ingest.TokenEnv = "HG_AGENT_TEST_TOKEN_NOT_SET"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := d.Audit(ctx, "north", nil, tg)
	if !errors.Is(err, ErrAgentError) {
		t.Fatalf("err %v, want ErrAgentError (the secret's env var is not set on the agent)", err)
	}
	if c.count() != 1 {
		t.Errorf("%d messages stored, want the error message stored once", c.count())
	}
}

func TestAgentAcksAJobOnlyAfterItsResultIsStored(t *testing.T) {
	srv := startEmbedded(t)
	c := newCollector()
	topo := Topology{Sites: []string{"north"}, AckWait: 2 * time.Second, MaxAttempts: 100}
	d := startDispatcher(t, srv.url(), topo, c)
	// Without the results stream, JetStream cannot ack a result.
	if err := d.JS.DeleteStream(context.Background(), ResultsStream); err != nil {
		t.Fatal(err)
	}
	var ran atomic.Int64
	runAgent(t, srv.url(), &Agent{Site: "north", Name: "n1", AuditFunc: func(ctx context.Context, t *spec.Target, o audit.Options) (*result.Result, error) {
		ran.Add(1)
		return fakeAudit(ctx, t, o)
	}})
	job, err := d.Submit(context.Background(), "north", nil, target("gw-1"))
	if err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "two attempts whose results could not be stored", func() bool { return ran.Load() >= 2 })
	st, err := d.JS.Stream(context.Background(), JobsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("jobs stream holds %d messages, want the unacked job kept", info.State.Msgs)
	}
	if err := Provision(context.Background(), d.JS, topo); err != nil {
		t.Fatal(err)
	}
	d.Stop()
	d2 := startDispatcher(t, srv.url(), topo, c)
	poll.Until(t, "the job's result stored once the stream is back", func() bool { return c.count() == 1 })
	c.mu.Lock()
	rm := c.stored[job.AuditID]
	c.mu.Unlock()
	if rm == nil || rm.Attempt < 2 {
		t.Fatalf("stored %+v, want the job's audit id on a later attempt", rm)
	}
	poll.Until(t, "the job acked and gone from the work queue", func() bool {
		info, err := st.Info(context.Background())
		return err == nil && info.State.Msgs == 0
	})
	_ = d2
}

func TestDispatcherStoresEachResultOnceAndKeepsOneItCouldNotStore(t *testing.T) {
	srv := startEmbedded(t)
	c := newCollector()
	c.failFor = 2 // the store refuses twice; the result stays in the stream
	d := startDispatcher(t, srv.url(), Topology{Sites: []string{"north"}}, c)
	runAgent(t, srv.url(), &Agent{Site: "north", Name: "n1", AuditFunc: fakeAudit})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := d.Audit(ctx, "north", nil, target("gw-1"))
	if err != nil {
		t.Fatal(err)
	}
	// The same result published again (an agent that published it and
	// died before acking its job) is deduplicated by its audit id.
	rm := &ResultMsg{SchemaVersion: ResultSchemaVersion, JobID: "job-x", AuditID: res.AuditID, Site: "north",
		Agent: "n2", Attempt: 2, Outcome: OutcomeAudited, Result: res}
	data, _ := EncodeResult(rm)
	ack, err := d.JS.Publish(ctx, ResultSubject("north"), data, jetstreamMsgID(res.AuditID))
	if err != nil {
		t.Fatal(err)
	}
	if !ack.Duplicate {
		t.Errorf("a result published twice with one audit id was not flagged duplicate")
	}
	c.mu.Lock()
	handed, stored := c.handed[res.AuditID], len(c.stored)
	c.mu.Unlock()
	if handed != 3 || stored != 1 {
		t.Errorf("handed over %d times, %d stored; want 3 (two refused) and 1", handed, stored)
	}
}

func TestAJobWhoseAgentDiesIsAuditedByAnotherAgentOfTheSite(t *testing.T) {
	srv := startEmbedded(t)
	c := newCollector()
	d := startDispatcher(t, srv.url(), Topology{Sites: []string{"north"}, AckWait: time.Second}, c)
	started := make(chan struct{})
	hang := make(chan struct{})
	defer close(hang)
	var once sync.Once
	// The first agent's connection dies mid-audit: no ack, no nak.
	nc1 := connect(t, srv.url(), "north")
	a1 := &Agent{Site: "north", Name: "n1", Logger: testLogger(t), Grace: 100 * time.Millisecond, AuditFunc: func(ctx context.Context, _ *spec.Target, _ audit.Options) (*result.Result, error) {
		once.Do(func() { close(started) })
		<-hang
		return nil, ctx.Err()
	}}
	a1Done := make(chan struct{})
	go func() { _ = a1.Run(context.Background(), nc1); close(a1Done) }()
	tg := target("gw-1")
	tg.Timeouts.Request, tg.Timeouts.Audit = spec.Duration(time.Second), spec.Duration(2*time.Second)
	job, err := d.Submit(context.Background(), "north", nil, tg)
	if err != nil {
		t.Fatal(err)
	}
	<-started
	nc1.Close()
	<-a1Done // its workers see the closed connection and stop
	runAgent(t, srv.url(), &Agent{Site: "north", Name: "n2", AuditFunc: fakeAudit})
	poll.Until(t, "the job audited by the second agent", func() bool { return c.count() == 1 })
	c.mu.Lock()
	rm := c.stored[job.AuditID]
	c.mu.Unlock()
	if rm == nil || rm.Agent != "n2" || rm.Attempt != 2 {
		t.Fatalf("stored %+v, want agent n2 on attempt 2", rm)
	}
}

func TestPoisonJobsGoToTheDeadLetterSubjectAfterTheirAttempts(t *testing.T) {
	cases := []struct {
		name  string
		audit func(calls *atomic.Int64) AuditFunc
	}{
		{"an audit that panics", func(calls *atomic.Int64) AuditFunc {
			return func(context.Context, *spec.Target, audit.Options) (*result.Result, error) {
				calls.Add(1)
				panic("poison")
			}
		}},
		{"an audit that never returns", func(calls *atomic.Int64) AuditFunc {
			return func(context.Context, *spec.Target, audit.Options) (*result.Result, error) {
				calls.Add(1)
				select {} // ignores its deadline
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startEmbedded(t)
			c := newCollector()
			d := startDispatcher(t, srv.url(), Topology{Sites: []string{"north"}, AckWait: time.Second, MaxAttempts: 2}, c)
			var calls atomic.Int64
			runAgent(t, srv.url(), &Agent{Site: "north", Name: "n1", Grace: 100 * time.Millisecond, AuditFunc: tc.audit(&calls)})
			tg := target("poison")
			tg.Timeouts.Audit = spec.Duration(200 * time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := d.Audit(ctx, "north", nil, tg)
			if !errors.Is(err, ErrDeadLetter) {
				t.Fatalf("err %v, want ErrDeadLetter", err)
			}
			if calls.Load() != 2 {
				t.Errorf("audited %d times, want 2 (the attempts)", calls.Load())
			}
			dead, err := DeadLetters(ctx, d.JS, 10)
			if err != nil || len(dead) != 1 || dead[0].Target != "poison" || dead[0].Attempts != 2 {
				t.Fatalf("dead letters %+v (%v), want the poison job after 2 attempts", dead, err)
			}
			// The dead letter is published before the agent terminates the
			// job, so the queue empties a moment after the letter shows.
			var q []SiteQueue
			poll.Until(t, "one dead letter and nothing queued", func() bool {
				q, err = Queues(ctx, d.JS, []string{"north"})
				return err == nil && q[0].Dead == 1 && q[0].Waiting == 0 && q[0].InFlight == 0
			})
			if c.count() != 0 {
				t.Errorf("%d results stored for a poison job", c.count())
			}
		})
	}
}

func TestNATSRestartLosesNoAcknowledgedJobOrResult(t *testing.T) {
	srv := startEmbedded(t)
	c := newCollector()
	topo := Topology{Sites: []string{"north"}, AckWait: 2 * time.Second}
	d := startDispatcher(t, srv.url(), topo, c)
	var jobs []*Job
	for i := range 5 {
		j, err := d.Submit(context.Background(), "north", nil, target(fmt.Sprintf("gw-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j)
	}
	d.Stop() // results now wait in their stream
	stopAgent := runAgent(t, srv.url(), &Agent{Site: "north", Name: "n1", AuditFunc: func(ctx context.Context, tg *spec.Target, o audit.Options) (*result.Result, error) {
		if tg.Name >= "gw-3" {
			<-ctx.Done() // still running when the server goes down
			return nil, ctx.Err()
		}
		return fakeAudit(ctx, tg, o)
	}})
	st, _ := d.JS.Stream(context.Background(), ResultsStream)
	poll.Until(t, "three results acked by JetStream", func() bool {
		info, err := st.Info(context.Background())
		return err == nil && info.State.Msgs == 3
	})
	stopAgent()
	srv.stop()
	srv.start()
	c2 := newCollector()
	startDispatcher(t, srv.url(), topo, c2)
	runAgent(t, srv.url(), &Agent{Site: "north", Name: "n2", AuditFunc: fakeAudit})
	poll.Until(t, "every job's result stored after the restart", func() bool { return c2.count() == 5 })
	for _, j := range jobs {
		if c2.stored[j.AuditID] == nil {
			t.Errorf("job %s has no stored result", j.JobID)
		}
	}
}
