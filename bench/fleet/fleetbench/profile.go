package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hardgate/hardgate/internal/audit"
	"github.com/hardgate/hardgate/internal/fleet"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

// profileFleet runs the fleet audit in this process (the same Runner the
// CLI uses) under a CPU profile, to find what a fleet run spends its time on.
func profileFleet(c config, work, fleetFile string) (*figures, error) {
	f, err := spec.LoadFleet(fleetFile)
	if err != nil {
		return nil, err
	}
	os.Setenv("HARDGATE_BENCH_TOKEN", token)
	prof, err := os.Create(c.cpuProfile)
	if err != nil {
		return nil, err
	}
	defer prof.Close()
	out, err := fleet.OpenOutDir(filepath.Join(work, "out"))
	if err != nil {
		return nil, err
	}
	r := &fleet.Runner{Parallel: c.parallel, Audit: audit.Options{ToolVersion: "bench"}, OnDone: func(o *fleet.Outcome) {
		if o.Result != nil {
			o.Row.ResultPath, o.Row.HTMLPath, _ = out.WriteResult(o.Row.Name, o.Result)
		}
	}}
	var before syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	if err := pprof.StartCPUProfile(prof); err != nil {
		return nil, err
	}
	start := time.Now()
	run, err := r.Run(context.Background(), f.Targets)
	wall := time.Since(start)
	pprof.StopCPUProfile()
	if err != nil {
		return nil, err
	}
	if os.Getenv("FLEETBENCH_TIMELINE") != "" {
		for i, o := range run.Outcomes {
			if i%25 == 0 || i >= len(run.Outcomes)-5 {
				fmt.Fprintf(os.Stderr, "%4d %-20s start %6.2fs took %6.2fs %s\n", i, o.Row.Name, o.Started.Sub(start).Seconds(), o.Duration.Seconds(), o.Status)
			}
		}
	}
	var after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	sum := fleet.Summarize(run, fleet.Meta{Tool: result.Tool{Name: "hardgate", Version: "bench"}, FleetFile: fleetFile})
	if err := out.WriteSummary(sum); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "fleetbench: CPU profile in %s (in-process run)\n", c.cpuProfile)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	return &figures{wall: wall, peakRSSKB: int64(after.Maxrss), cpu: cpu, exitCode: fleet.ExitCode(sum), summary: sum}, nil
}

// treeCPU is the CPU time (user+system) of pid and its direct children,
// from /proc; 0 when it cannot be read.
func treeCPU(pid int) time.Duration {
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	read := func(p int) (ppid int, ticks int64, ok bool) {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			return 0, 0, false
		}
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			return 0, 0, false
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 13 {
			return 0, 0, false
		}
		ppid, _ = strconv.Atoi(f[1])
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		return ppid, u + st, true
	}
	_, total, ok := read(pid)
	if !ok {
		return 0
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil || p == pid {
			continue
		}
		if ppid, t, ok := read(p); ok && ppid == pid {
			total += t
		}
	}
	return time.Duration(total) * tick
}
