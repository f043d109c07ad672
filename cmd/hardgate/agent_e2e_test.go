package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/hardgate/hardgate/internal/agent"
	"github.com/hardgate/hardgate/internal/fleet/fleettest"
	"github.com/hardgate/hardgate/internal/interop"
	"github.com/hardgate/hardgate/internal/pki"
	"github.com/hardgate/hardgate/internal/poll"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
	"github.com/hardgate/hardgate/internal/store"
)

// agentChildEnv carries the arguments of a re-executed test binary that
// plays `hardgate agent` (it runs main()).
const agentChildEnv = "HARDGATE_AGENT_E2E_CHILD"

// natsE2E is Debian's nats-server with examples/agents/nats-server.conf.
type natsE2E struct {
	url, caFile string
	seeds       map[string]string // user -> seed file
}

func startDebianNATS(t *testing.T, dir string) *natsE2E {
	t.Helper()
	bin := interop.Binary(t, "nats-server", "nats-server")
	ca, err := pki.NewCA("agents e2e CA", time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue([]string{"127.0.0.1", "localhost"}, time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	n := &natsE2E{caFile: filepath.Join(dir, "nats-ca.pem"), seeds: map[string]string{}}
	cert, key := filepath.Join(dir, "nats.pem"), filepath.Join(dir, "nats-key.pem")
	if err := leaf.Write(cert, key); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(n.caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "HARDGATE_NATS_CERT="+cert, "HARDGATE_NATS_KEY="+key,
		"HARDGATE_NATS_STORE="+filepath.Join(dir, "jetstream"))
	for _, user := range []string{"SERVE", "NORTH", "SOUTH"} {
		kp, err := nkeys.CreateUser()
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := kp.PublicKey()
		seed, _ := kp.Seed()
		file := filepath.Join(dir, strings.ToLower(user)+".nk")
		if err := os.WriteFile(file, seed, 0o600); err != nil {
			t.Fatal(err)
		}
		n.seeds[strings.ToLower(user)] = file
		env = append(env, "HARDGATE_"+user+"_NKEY="+pub)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	conf, err := filepath.Abs("../../examples/agents/nats-server.conf")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf, "-a", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Env = env
	var logBuf syncBuffer
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("nats-server log:\n%s", logBuf.String())
		}
	})
	n.url = fmt.Sprintf("tls://127.0.0.1:%d", port)
	poll.Until(t, "nats-server ready", func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, poll.Timeout(20*time.Second))
	return n
}

// agentProc is one `hardgate agent` process.
type agentProc struct {
	name, site string
	cmd        *exec.Cmd
	done       chan struct{}
	mu         sync.Mutex
	log        strings.Builder
}

func (p *agentProc) text() string { p.mu.Lock(); defer p.mu.Unlock(); return p.log.String() }

func startAgentProc(t *testing.T, n *natsE2E, site, name string, started func(p *agentProc, target string)) *agentProc {
	t.Helper()
	args := []string{"agent", "--nats", n.url, "--site", site, "--creds", n.seeds[site], "--ca", n.caFile,
		"--parallel", "4", "--name", name}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAgentsEndToEndWithDebianNATS$")
	cmd.Env = append(os.Environ(), agentChildEnv+"="+strings.Join(args, "\x1f"))
	out, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &agentProc{name: name, site: site, cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if strings.Contains(line, `msg="job started"`) && started != nil {
				started(p, field(line, "target"))
			}
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-p.done })
	return p
}

// field returns key's value in a slog text line.
func field(line, key string) string {
	i := strings.Index(line, " "+key+"=")
	if i < 0 {
		return ""
	}
	v := line[i+len(key)+2:]
	if j := strings.IndexByte(v, ' '); j >= 0 {
		v = v[:j]
	}
	return strings.Trim(v, `"`)
}

func TestAgentsEndToEndWithDebianNATS(t *testing.T) {
	if args := os.Getenv(agentChildEnv); args != "" {
		os.Args = append([]string{"hardgate"}, strings.Split(args, "\x1f")...)
		main()
		return
	}
	dir := t.TempDir()
	n := startDebianNATS(t, dir)
	ca := fleettest.NewCA(t, dir)
	fleettest.SetToken(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// serve's side: the dispatcher storing into a real history.
	st, err := store.Open(ctx, filepath.Join(dir, "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var handedMu sync.Mutex
	handed := map[string]int{}
	nc, err := agent.Connect(agent.ConnConfig{URL: n.url, CredsFile: n.seeds["serve"], CAFile: n.caFile, Name: "e2e serve"})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	d := &agent.Dispatcher{JS: js, Topology: agent.Topology{Sites: []string{"north", "south"}, AckWait: 2 * time.Second, MaxAttempts: 2},
		OnResult: func(ctx context.Context, rm *agent.ResultMsg) error {
			handedMu.Lock()
			handed[rm.AuditID]++
			handedMu.Unlock()
			if rm.Outcome != agent.OutcomeAudited {
				return nil // Audit returns the agent's error
			}
			_, err := st.AddAll(ctx, []*result.Result{rm.Result})
			return err
		}}
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()

	// Kill (SIGKILL) the agent that starts slow-1, once, and every agent
	// that starts poison; restart each killed agent.
	var mu sync.Mutex
	killedSlow := false
	poisonKills := 0
	var procs []*agentProc
	var onStart func(p *agentProc, target string)
	restart := func(p *agentProc) {
		mu.Lock()
		defer mu.Unlock()
		procs = append(procs, startAgentProc(t, n, p.site, p.name+"r", onStart))
	}
	onStart = func(p *agentProc, target string) {
		mu.Lock()
		kill := target == "poison" || (target == "slow-1" && !killedSlow)
		if target == "slow-1" && kill {
			killedSlow = true
		}
		if target == "poison" {
			poisonKills++
		}
		mu.Unlock()
		if kill {
			_ = p.cmd.Process.Kill() // SIGKILL mid-audit
			go restart(p)
		}
	}
	mu.Lock()
	procs = append(procs, startAgentProc(t, n, "north", "a1", onStart), startAgentProc(t, n, "north", "a2", onStart),
		startAgentProc(t, n, "south", "a3", onStart))
	mu.Unlock()

	type job struct {
		name, site, url string
		audit           time.Duration
		want            string
	}
	var jobs []job
	for i := range 5 {
		jobs = append(jobs, job{fmt.Sprintf("north-%d", i), "north", ca.Strong(t), 20 * time.Second, result.AuditPass})
		jobs = append(jobs, job{fmt.Sprintf("south-%d", i), "south", ca.Strong(t), 20 * time.Second, result.AuditPass})
	}
	jobs = append(jobs, job{"open-1", "south", fleettest.Open(t), 20 * time.Second, result.AuditFail},
		job{"slow-1", "north", "https://" + fleettest.NewSilent(t).Addr + "/v1/ingest", 3 * time.Second, result.AuditInconclusive})
	type outcome struct {
		res *result.Result
		err error
	}
	outcomes := make([]outcome, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		tg := spec.Default()
		tg.Name, tg.Ingest.URLs, tg.Ingest.CAFile, tg.Ingest.TokenEnv = j.name, []string{j.url}, ca.File, fleettest.TokenEnv
		tg.Timeouts.Audit, tg.Timeouts.Request = spec.Duration(j.audit), spec.Duration(time.Second)
		tg.Complete()
		wg.Go(func() {
			res, err := d.Audit(ctx, j.site, map[string]string{"site": j.site}, &tg)
			outcomes[i] = outcome{res, err}
		})
	}
	wg.Wait()
	// The poison job runs after the others, so the agents killed for it
	// hold no other job whose attempts they would use up.
	poison := spec.Default()
	poison.Name, poison.Ingest.URLs = "poison", []string{"https://" + fleettest.NewSilent(t).Addr + "/v1/ingest"}
	poison.Timeouts.Audit = spec.Duration(60 * time.Second)
	poison.Complete()
	_, poisonErr := d.Audit(ctx, "north", nil, &poison)

	if !killedSlow {
		t.Errorf("no agent was killed mid-audit of slow-1")
	}
	for i, j := range jobs {
		o := outcomes[i]
		if o.err != nil {
			t.Errorf("%s: %v", j.name, o.err)
			continue
		}
		if o.res.Summary.Status != j.want {
			t.Errorf("%s: %s, want %s", j.name, o.res.Summary.Status, j.want)
		}
		entries, err := st.List(ctx, store.Filter{Target: j.name})
		if err != nil || len(entries) != 1 {
			t.Errorf("%s: %d stored results (%v), want exactly one", j.name, len(entries), err)
		}
	}
	if poisonErr == nil || !strings.Contains(poisonErr.Error(), agent.ErrDeadLetter.Error()) {
		t.Errorf("poison: %v, want it dead-lettered", poisonErr)
	}
	mu.Lock()
	if poisonKills != 2 {
		t.Errorf("poison started %d times, want 2 (its attempts)", poisonKills)
	}
	mu.Unlock()
	dead, err := agent.DeadLetters(ctx, js, 10)
	if err != nil || len(dead) != 1 || dead[0].Target != "poison" {
		t.Errorf("dead letters %+v (%v), want the poison job", dead, err)
	}
	all, _ := st.List(ctx, store.Filter{})
	if len(all) != len(jobs) {
		t.Errorf("%d results in history, want %d", len(all), len(jobs))
	}
	agents, err := agent.Agents(ctx, js)
	if err != nil || len(agents) < 3 {
		t.Errorf("heartbeats %+v (%v), want at least the three live agents", agents, err)
	}
	checkSitePermissions(t, n)
	if t.Failed() {
		mu.Lock()
		for _, p := range procs {
			t.Logf("agent %s/%s log:\n%s", p.site, p.name, p.text())
		}
		mu.Unlock()
	}
}

// checkSitePermissions: north's agent credentials cannot reach south's
// jobs nor publish jobs.
func checkSitePermissions(t *testing.T, n *natsE2E) {
	t.Helper()
	nc, err := agent.Connect(agent.ConnConfig{URL: n.url, CredsFile: n.seeds["north"], CAFile: n.caFile,
		InboxPrefix: agent.InboxPrefix("north")})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := js.Consumer(ctx, agent.JobsStream, agent.SiteConsumer("north")); err != nil {
		t.Errorf("north cannot bind its own consumer: %v", err)
	}
	if _, err := js.Consumer(ctx, agent.JobsStream, agent.SiteConsumer("south")); err == nil {
		t.Errorf("north's credentials read south's consumer")
	}
	if _, err := js.Publish(ctx, agent.JobSubject("north"), []byte("{}")); err == nil {
		t.Errorf("north's credentials published a job")
	}
	if _, err := js.Publish(ctx, agent.ResultSubject("south"), []byte("{}")); err == nil {
		t.Errorf("north's credentials published a result as south")
	}
}
