package serve

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hardgate/hardgate/internal/agent"
	"github.com/hardgate/hardgate/internal/audit"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
	"github.com/hardgate/hardgate/internal/store"
)

func TestExecutorConfigIsValidated(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"tls to another host is accepted", "executor: {nats: {url: \"tls://nats.example.net:4222\", creds_file: a.nk, ca_file: ca.pem}}\n", ""},
		{"plaintext to loopback is accepted", "executor: {nats: {url: \"nats://127.0.0.1:4222\"}}\n", ""},
		{"plaintext to another host is refused", "executor: {nats: {url: \"nats://nats.example.net:4222\"}}\n", "executor.nats.url"},
		{"plaintext allowed explicitly", "executor: {nats: {url: \"nats://nats.example.net:4222\", allow_plaintext: true}}\n", ""},
		{"a short ack wait is refused", "executor: {nats: {url: \"tls://n:4222\", ack_wait: 10ms}}\n", "executor.nats.ack_wait"},
		{"too many attempts are refused", "executor: {nats: {url: \"tls://n:4222\", max_attempts: 1000}}\n", "executor.nats.max_attempts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := testConfig(t, "schedule: {every: 1h}\n"+tc.yaml).Validate()
			if tc.want == "" && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate: %v, want an error naming %s", err, tc.want)
			}
		})
	}
	if _, err := Parse(strings.NewReader("fleet: f\nexecutor: {nats: {url: x, password: y}}\n")); err == nil {
		t.Errorf("an unknown executor key was accepted")
	}
}

func startNATS(t *testing.T) string {
	t.Helper()
	s, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: natsserver.RANDOM_PORT, NoSigs: true,
		NoLog: true, JetStream: true, StoreDir: t.TempDir(), MaxPayload: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(20 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(s.Shutdown)
	return s.ClientURL()
}

func TestRemoteExecutorSendsSiteTargetsToAgentsAndStoresEachResultOnce(t *testing.T) {
	url := startNATS(t)
	st := openStore(t, "")
	fake := newFakeExec()
	tgts := []Target{{Name: "gw-north", Labels: map[string]string{"site": "north"}, Spec: &spec.Target{}},
		{Name: "gw-local", Labels: map[string]string{}}}
	*tgts[0].Spec = spec.Default()
	tgts[0].Spec.Ingest.URLs = []string{"https://127.0.0.1:1/v1/ingest"}
	tgts[0].Spec.Complete()
	cfg := testConfig(t, "schedule: {every: 1h}\nexecutor: {nats: {url: \""+url+"\", ack_wait: 2s}}\n")
	svc := newService(t, cfg, st, fake, tgts)
	remote, err := NewRemoteExecutor(context.Background(), cfg.Executor.NATS, svc)
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	// An in-process agent of site north.
	nc, err := agent.Connect(agent.ConnConfig{URL: url, InboxPrefix: agent.InboxPrefix("north")})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var ranMu sync.Mutex
	var ranAt []string
	a := &agent.Agent{Site: "north", Name: "n1", Version: "test", AuditFunc: func(_ context.Context, tg *spec.Target, o audit.Options) (*result.Result, error) {
		ranMu.Lock()
		ranAt = append(ranAt, tg.Name)
		ranMu.Unlock()
		res, _ := fake.Audit(context.Background(), Target{Name: tg.Name})
		res.AuditID = o.NewID()
		return res, nil
	}}
	actx, stop := context.WithCancel(context.Background())
	agentDone := make(chan struct{})
	go func() { _ = a.Run(actx, nc); close(agentDone) }()
	defer func() { stop(); <-agentDone }()

	runService(t, svc)
	for _, name := range []string{"gw-north", "gw-local"} {
		if err := svc.RunNow(name); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both targets audited and stored", func() bool {
		return svc.status("gw-north").Latest != nil && svc.status("gw-local").Latest != nil
	})
	ranMu.Lock()
	defer ranMu.Unlock()
	if fake.count("gw-local") != 1 || len(ranAt) != 1 || ranAt[0] != "gw-north" {
		t.Fatalf("local ran %d times, the agent ran %v; want gw-local local and gw-north at the agent", fake.count("gw-local"), ranAt)
	}
	entries, err := st.List(context.Background(), store.Filter{Target: "gw-north"})
	if err != nil || len(entries) != 1 {
		t.Fatalf("gw-north: %d stored (%v), want 1", len(entries), err)
	}
	// A redelivered result (the same audit id) is stored once.
	res, err := st.Get(context.Background(), entries[0].AuditID)
	if err != nil {
		t.Fatal(err)
	}
	rm := &agent.ResultMsg{SchemaVersion: agent.ResultSchemaVersion, JobID: "job-again", AuditID: res.AuditID,
		Site: "north", Agent: "n2", Attempt: 2, Outcome: agent.OutcomeAudited, Result: res}
	if err := svc.storeRemote(context.Background(), rm); err != nil {
		t.Fatal(err)
	}
	if entries, _ := st.List(context.Background(), store.Filter{Target: "gw-north"}); len(entries) != 1 {
		t.Fatalf("gw-north: %d stored after a redelivery, want 1", len(entries))
	}
	// A result that no run of this process waits for (its job was sent
	// before a restart) is stored and judged: it becomes the target's latest.
	late, _ := fake.Audit(context.Background(), Target{Name: "gw-north"})
	late.AuditID = "hg-late-after-restart"
	rm = &agent.ResultMsg{SchemaVersion: agent.ResultSchemaVersion, JobID: "job-before-restart", AuditID: late.AuditID,
		Site: "north", Agent: "n1", Attempt: 1, Outcome: agent.OutcomeAudited, Result: late}
	if err := svc.storeRemote(context.Background(), rm); err != nil {
		t.Fatal(err)
	}
	if got := svc.status("gw-north").Latest; got == nil || got.AuditID != late.AuditID {
		t.Fatalf("gw-north's latest audit %+v, want the late result %s judged", got, late.AuditID)
	}

	// A dead letter, as an agent publishes it after a poison job's attempts.
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	dl, _ := agent.EncodeDeadLetter(&agent.DeadLetter{SchemaVersion: agent.JobSchemaVersion, JobID: "job-poison",
		Site: "north", Target: "gw-poison", Attempts: 3, Reason: "no result after 3 attempts", Agent: "n1", At: time.Now().UTC()})
	if _, err := js.Publish(context.Background(), agent.DeadSubject("north"), dl); err != nil {
		t.Fatal(err)
	}
	srv := dashboard(t, svc)
	waitFor(t, "the agents page lists the agent, the site's queue and the dead letter", func() bool {
		resp, body := get(t, browser(t), srv.URL+"/agents")
		return resp.StatusCode == http.StatusOK && strings.Contains(body, "<td>n1</td>") &&
			strings.Contains(body, "<tr><td>north</td><td>0</td><td>0</td><td>0</td><td>1</td></tr>") &&
			strings.Contains(body, "<td>gw-poison</td><td>job-poison</td><td>3</td>")
	})
}
