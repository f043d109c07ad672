// Command agentsbench measures the overhead of site agents: one fleet of N
// loopback TLS gateways (one Debian nginx, bench/internal/nginxfleet)
// audited once by `hardgate audit --fleet --parallel P` and once through
// NATS JetStream (Debian's nats-server) by A `hardgate agent` processes of
// P/A audits each, the jobs scheduled and the results stored into a
// SQLite history by the dispatcher serve uses. It prints both wall times,
// their ratio (goal <= 1.2) and the load average, and fails when a target
// is not PASS on either side or is stored other than once.
//
// Run it through bench/agents/run.sh.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hardgate/hardgate/bench/internal/nginxfleet"
	"github.com/hardgate/hardgate/internal/agent"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
	"github.com/hardgate/hardgate/internal/store"
)

const token = "bench-agents-device-token-0123456789abcdef"

type config struct {
	n, agents, parallel int
	hardgate, natsBin   string
}

func main() {
	var c config
	flag.IntVar(&c.n, "n", 1000, "targets (nginx TLS listen ports)")
	flag.IntVar(&c.agents, "agents", 2, "agent processes")
	flag.IntVar(&c.parallel, "parallel", 64, "total concurrent audits: --parallel of the local run, split among the agents")
	flag.StringVar(&c.hardgate, "hardgate", "", "the hardgate binary")
	flag.StringVar(&c.natsBin, "nats-server", "nats-server", "the nats-server binary")
	flag.Parse()
	if err := run(c); err != nil {
		log.Fatalf("agentsbench: %v", err)
	}
}

func run(c config) error {
	if c.hardgate == "" {
		return errors.New("-hardgate BINARY is required")
	}
	work, err := os.MkdirTemp("", "hardgate-bench-agents.")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ports, err := nginxfleet.FreePorts(c.n + 1)
	if err != nil {
		return err
	}
	natsPort, ports := ports[0], ports[1:]
	stop, _, err := nginxfleet.Start(ctx, work, ports, token)
	if err != nil {
		return err
	}
	defer stop()
	fleetFile, err := writeFleet(work, ports)
	if err != nil {
		return err
	}
	load0 := loadAvg()
	local, err := runLocal(c, work, fleetFile)
	if err != nil {
		return err
	}
	load1 := loadAvg()
	remote, err := runRemote(ctx, c, work, fleetFile, natsPort)
	if err != nil {
		return err
	}
	load2 := loadAvg()
	fmt.Printf("agents bench: %d loopback TLS targets, total parallel %d\n", c.n, c.parallel)
	fmt.Printf("  local  hardgate audit --fleet --parallel %d:        %8.2fs  (%d pass)\n", c.parallel, local.wall.Seconds(), local.pass)
	fmt.Printf("  agents %d x hardgate agent --parallel %d via NATS: %8.2fs  (%d pass, %d stored)\n", c.agents,
		max(1, c.parallel/c.agents), remote.wall.Seconds(), remote.pass, remote.stored)
	fmt.Printf("  ratio agents/local: %.2fx (goal <= 1.20x)\n", remote.wall.Seconds()/local.wall.Seconds())
	fmt.Printf("  load average: before %s, after local %s, after agents %s (%d CPUs shared)\n", load0, load1, load2, numCPU())
	var problems []string
	if local.pass != c.n {
		problems = append(problems, fmt.Sprintf("local: %d of %d PASS", local.pass, c.n))
	}
	if remote.pass != c.n || remote.stored != c.n {
		problems = append(problems, fmt.Sprintf("agents: %d of %d PASS, %d stored", remote.pass, c.n, remote.stored))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func writeFleet(work string, ports []int) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "defaults:\n  ingest: {ca_file: ca.pem, token_env: HARDGATE_BENCH_TOKEN}\n  timeouts: {request: 5s, audit: 60s}\n  labels: {site: bench}\ntargets:\n")
	for i, p := range ports {
		fmt.Fprintf(&b, "  - name: gw-%04d\n    ingest: {urls: [\"https://127.0.0.1:%d/v1/ingest\"]}\n", i+1, p)
	}
	path := filepath.Join(work, "fleet.yaml")
	return path, os.WriteFile(path, []byte(b.String()), 0o644)
}

type figures struct {
	wall         time.Duration
	pass, stored int
}

func runLocal(c config, work, fleetFile string) (*figures, error) {
	out := filepath.Join(work, "out")
	cmd := exec.Command(c.hardgate, "audit", "--fleet", fleetFile, "--out-dir", out, "--progress", "none",
		"--parallel", fmt.Sprint(c.parallel))
	cmd.Env = append(os.Environ(), "HARDGATE_BENCH_TOKEN="+token)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	start := time.Now()
	err := cmd.Run()
	fig := &figures{wall: time.Since(start)}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return nil, fmt.Errorf("run hardgate: %w", err)
	}
	f, err := os.Open(filepath.Join(out, "fleet.json"))
	if err != nil {
		return nil, fmt.Errorf("no fleet.json: %w\n%s", err, log.String())
	}
	defer f.Close()
	sum, err := result.DecodeFleet(f)
	if err != nil {
		return nil, err
	}
	for _, t := range sum.Targets {
		if t.Status == result.FleetPass {
			fig.pass++
		}
	}
	return fig, nil
}

// runRemote starts nats-server and the agents, then schedules every
// target and waits for every result to be stored.
func runRemote(ctx context.Context, c config, work, fleetFile string, port int) (*figures, error) {
	conf := filepath.Join(work, "nats.conf")
	body := fmt.Sprintf("listen: 127.0.0.1:%d\nmax_payload: 8MB\njetstream { store_dir: %q }\n", port, filepath.Join(work, "js"))
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return nil, err
	}
	natsCmd := exec.CommandContext(ctx, c.natsBin, "-c", conf)
	if err := natsCmd.Start(); err != nil {
		return nil, fmt.Errorf("start nats-server: %w", err)
	}
	defer func() { _ = natsCmd.Process.Kill(); _ = natsCmd.Wait() }()
	if err := nginxfleet.WaitPort(port, 10*time.Second); err != nil {
		return nil, err
	}
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	nc, err := agent.Connect(agent.ConnConfig{URL: url, Name: "agentsbench"})
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, filepath.Join(work, "history.db"))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var pass, stored atomic.Int64
	d := &agent.Dispatcher{JS: js, Topology: agent.Topology{Sites: []string{"bench"}},
		OnResult: func(ctx context.Context, rm *agent.ResultMsg) error {
			if rm.Outcome != agent.OutcomeAudited {
				return nil
			}
			added, err := st.AddAll(ctx, []*result.Result{rm.Result})
			stored.Add(int64(len(added)))
			return err
		}}
	if err := d.Start(ctx); err != nil {
		return nil, err
	}
	defer d.Stop()
	for i := range c.agents {
		cmd := exec.CommandContext(ctx, c.hardgate, "agent", "--nats", url, "--site", "bench",
			"--parallel", fmt.Sprint(max(1, c.parallel/c.agents)), "--name", fmt.Sprintf("bench-%d", i+1), "--log-format", "json")
		cmd.Env = append(os.Environ(), "HARDGATE_BENCH_TOKEN="+token)
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	}
	if err := waitAgents(ctx, js, c.agents); err != nil {
		return nil, err
	}
	fleet, err := spec.LoadFleet(fleetFile)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var wg sync.WaitGroup
	var firstErr error
	var errMu sync.Mutex
	for i := range fleet.Targets {
		ft := &fleet.Targets[i]
		wg.Go(func() {
			res, err := d.Audit(ctx, "bench", ft.Labels, &ft.Target)
			if err != nil {
				errMu.Lock()
				firstErr = cmp(firstErr, err)
				errMu.Unlock()
				return
			}
			if res.Summary.Status == result.AuditPass {
				pass.Add(1)
			}
		})
	}
	wg.Wait()
	fig := &figures{wall: time.Since(start), pass: int(pass.Load()), stored: int(stored.Load())}
	if firstErr != nil {
		return nil, firstErr
	}
	return fig, nil
}

func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func waitAgents(ctx context.Context, js jetstream.JetStream, n int) error {
	end := time.Now().Add(30 * time.Second)
	for time.Now().Before(end) {
		if hbs, err := agent.Agents(ctx, js); err == nil && len(hbs) >= n {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%d agents did not send heartbeats within 30s", n)
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func numCPU() int { return runtime.NumCPU() }
