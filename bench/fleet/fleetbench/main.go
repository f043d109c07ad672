// Command fleetbench measures `hardgate audit --fleet` against one Debian
// nginx serving N TLS listen ports on 127.0.0.1 (an ingest-like location
// with a bearer check), plus a few hostile ports it serves itself (one
// kind never answers, the other answers TLS garbage). It prints wall time,
// targets/s, p50/p99 per-target time, the child's peak RSS, and sslscan's
// time for a sample of the same ports scaled to N, with the ratio, beside
// the load average. It fails when a strong target is not PASS, a hostile
// one is not inconclusive within its deadline, or a target is missing.
//
// Run it through bench/fleet/run.sh, which builds hardgate and raises the
// open-files limit.
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
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hardgate/hardgate/bench/internal/nginxfleet"
	"github.com/hardgate/hardgate/internal/result"
)

const token = "bench-fleet-device-token-0123456789abcdef"

type config struct {
	n, silent, garbage, parallel, sample int
	hardgate, work                       string
	hostileDeadline                      time.Duration
	keepOutput                           bool
	cpuProfile                           string
}

func main() {
	var c config
	flag.IntVar(&c.n, "n", 1000, "strong targets (nginx TLS listen ports)")
	flag.IntVar(&c.silent, "silent", 2, "hostile targets that accept and never answer")
	flag.IntVar(&c.garbage, "garbage", 2, "hostile targets that answer TLS garbage")
	flag.IntVar(&c.parallel, "parallel", 0, "--parallel for hardgate (0: its default)")
	flag.IntVar(&c.sample, "sslscan-sample", 20, "targets sslscan scans, timed and scaled to n")
	flag.StringVar(&c.hardgate, "hardgate", "", "the hardgate binary")
	flag.StringVar(&c.work, "work", "", "work folder (default: a temp folder, removed)")
	flag.DurationVar(&c.hostileDeadline, "hostile-deadline", 5*time.Second, "timeouts.audit of the hostile targets")
	flag.BoolVar(&c.keepOutput, "keep", false, "keep the work folder")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "audit in this process instead of the binary, with a CPU profile written to `FILE`")
	flag.Parse()
	if err := run(c); err != nil {
		log.Fatalf("fleetbench: %v", err)
	}
}

func run(c config) error {
	if c.hardgate == "" {
		return errors.New("-hardgate BINARY is required")
	}
	work := c.work
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "hardgate-bench-fleet."); err != nil {
			return err
		}
		if !c.keepOutput {
			defer os.RemoveAll(work)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ports, err := nginxfleet.FreePorts(c.n)
	if err != nil {
		return err
	}
	stop, nginxCPU, err := startNginx(ctx, work, ports)
	if err != nil {
		return err
	}
	defer stop()
	hostile := startHostile(c.silent, c.garbage)
	defer hostile.close()
	fleetFile, err := writeFleet(work, ports, hostile, c.hostileDeadline)
	if err != nil {
		return err
	}
	load0 := loadAvg()
	audit := auditFleet
	if c.cpuProfile != "" {
		audit = profileFleet
	}
	cpu0 := nginxCPU()
	fig, err := audit(c, work, fleetFile)
	if err != nil {
		return err
	}
	fig.nginxCPU = nginxCPU() - cpu0
	load1 := loadAvg()
	problems := check(fig, c)
	sslscanTime, err := timeSSLScan(ports[:min(c.sample, len(ports))])
	if err != nil {
		return err
	}
	report(c, fig, sslscanTime, load0, load1)
	if len(problems) > 0 {
		return fmt.Errorf("%d problems:\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	return nil
}

func writeFleet(work string, ports []int, h *hostile, hostileDeadline time.Duration) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "defaults:\n  ingest: {ca_file: ca.pem, token_env: HARDGATE_BENCH_TOKEN}\n  timeouts: {request: 5s, audit: 60s}\ntargets:\n")
	for i, p := range ports {
		fmt.Fprintf(&b, "  - name: gw-%04d\n    labels: {kind: strong, rack: r%d}\n    ingest: {urls: [\"https://127.0.0.1:%d/v1/ingest\"]}\n", i+1, i%10, p)
	}
	hostileEntry := func(name, kind, addr string) {
		fmt.Fprintf(&b, "  - name: %s\n    labels: {kind: %s}\n    ingest: {urls: [\"https://%s/v1/ingest\"]}\n    timeouts: {request: %s, audit: %s}\n",
			name, kind, addr, min(hostileDeadline, 2*time.Second), hostileDeadline)
	}
	for i, a := range h.silent {
		hostileEntry(fmt.Sprintf("hostile-silent-%d", i+1), "silent", a)
	}
	for i, a := range h.garbage {
		hostileEntry(fmt.Sprintf("hostile-garbage-%d", i+1), "garbage", a)
	}
	path := filepath.Join(work, "fleet.yaml")
	return path, os.WriteFile(path, []byte(b.String()), 0o644)
}

// figures are what one fleet audit measured.
type figures struct {
	wall      time.Duration
	peakRSSKB int64
	cpu       time.Duration
	nginxCPU  time.Duration
	exitCode  int
	summary   *result.Fleet
}

func auditFleet(c config, work, fleetFile string) (*figures, error) {
	args := []string{"audit", "--fleet", fleetFile, "--out-dir", filepath.Join(work, "out"), "--progress", "none"}
	if c.parallel > 0 {
		args = append(args, "--parallel", fmt.Sprint(c.parallel))
	}
	cmd := exec.Command(c.hardgate, args...)
	cmd.Env = append(os.Environ(), "HARDGATE_BENCH_TOKEN="+token)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	fig := &figures{wall: time.Since(start)}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return nil, fmt.Errorf("run hardgate: %w", err)
	}
	fig.exitCode = cmd.ProcessState.ExitCode()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		fig.peakRSSKB = int64(ru.Maxrss) // kilobytes on Linux (int32 on 32-bit arm)
		fig.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	f, err := os.Open(filepath.Join(work, "out", "fleet.json"))
	if err != nil {
		return nil, fmt.Errorf("hardgate exited %d without fleet.json: %w\n%s", fig.exitCode, err, out.String())
	}
	defer f.Close()
	if fig.summary, err = result.DecodeFleet(f); err != nil {
		return nil, err
	}
	return fig, nil
}

func check(fig *figures, c config) []string {
	var problems []string
	if got, want := len(fig.summary.Targets), c.n+c.silent+c.garbage; got != want {
		problems = append(problems, fmt.Sprintf("%d targets in fleet.json, want %d", got, want))
	}
	slack := time.Second
	for _, t := range fig.summary.Targets {
		switch t.Labels["kind"] {
		case "strong":
			if t.Status != result.FleetPass {
				problems = append(problems, fmt.Sprintf("%s: %s %s, want pass (failing %v, undecided %v)", t.Name, t.Status, t.Error, t.FailingControls, t.UndecidedControls))
			}
		default:
			d := time.Duration(t.DurationMS) * time.Millisecond
			if t.Status != result.FleetInconclusive || d > c.hostileDeadline+slack {
				problems = append(problems, fmt.Sprintf("%s: %s after %s, want inconclusive within %s", t.Name, t.Status, d, c.hostileDeadline))
			}
		}
	}
	if len(problems) > 10 {
		problems = append(problems[:10], fmt.Sprintf("... and %d more", len(problems)-10))
	}
	return problems
}

func timeSSLScan(ports []int) (time.Duration, error) {
	start := time.Now()
	for _, p := range ports {
		cmd := exec.Command("sslscan", "--no-colour", fmt.Sprintf("127.0.0.1:%d", p))
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("sslscan 127.0.0.1:%d: %w\n%s", p, err, out)
		}
	}
	return time.Since(start), nil
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

func percentile(sorted []int64, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted)-1) + 0.5)
	return time.Duration(sorted[i]) * time.Millisecond
}

func report(c config, fig *figures, sslscan20 time.Duration, load0, load1 string) {
	var strong []int64
	for _, t := range fig.summary.Targets {
		if t.Labels["kind"] == "strong" {
			strong = append(strong, t.DurationMS)
		}
	}
	slices.Sort(strong)
	total := len(fig.summary.Targets)
	scaled := time.Duration(float64(sslscan20) * float64(c.n) / float64(max(1, min(c.sample, c.n))))
	st := fig.summary.Totals.Statuses
	fmt.Printf("fleet bench: %d strong nginx TLS ports + %d silent + %d garbage on 127.0.0.1, %d CPUs, --parallel %d\n",
		c.n, c.silent, c.garbage, runtime.NumCPU(), fig.summary.Parallel)
	fmt.Printf("  load average before/after:   %s / %s\n", load0, load1)
	fmt.Printf("  exit code:                   %d (%s: %d pass, %d fail, %d inconclusive, %d error)\n", fig.exitCode, fig.summary.Status,
		st["pass"], st["fail"], st["inconclusive"], st["error"])
	fmt.Printf("  wall time:                   %.2f s\n", fig.wall.Seconds())
	fmt.Printf("  targets/s:                   %.1f\n", float64(total)/fig.wall.Seconds())
	fmt.Printf("  per-target p50 / p99:        %s / %s (strong targets)\n", percentile(strong, 0.50), percentile(strong, 0.99))
	fmt.Printf("  peak RSS (hardgate):         %.1f MiB\n", float64(fig.peakRSSKB)/1024)
	fmt.Printf("  CPU time hardgate / nginx:   %.2f s / %.2f s user+system\n", fig.cpu.Seconds(), fig.nginxCPU.Seconds())
	fmt.Printf("  sslscan, %d targets:         %.2f s, scaled to %d: %.1f s\n", min(c.sample, c.n), sslscan20.Seconds(), c.n, scaled.Seconds())
	fmt.Printf("  ratio sslscan(scaled)/fleet: %.1fx\n", scaled.Seconds()/fig.wall.Seconds())
}
