package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/fleet/fleettest"
	"github.com/hardgate/hardgate/internal/poll"
)

// signalChildEnv carries the arguments of the re-executed test binary that
// plays hardgate: it runs main(), signal handling included.
const signalChildEnv = "HARDGATE_FLEET_SIGNAL_CHILD"

func TestFleetAuditStopsOnARealSIGINT(t *testing.T) {
	if args := os.Getenv(signalChildEnv); args != "" {
		os.Args = append([]string{"hardgate"}, strings.Split(args, "\x1f")...)
		main() // exits with hardgate's code
		return
	}
	dir := t.TempDir()
	ca := fleettest.NewCA(t, dir)
	fleettest.SetToken(t)
	s1, s2 := fleettest.NewSilent(t), fleettest.NewSilent(t)
	file := writeTestFleet(t, dir,
		fleetEntry{"strong-1", "a", ca.Strong(t), 0},
		fleetEntry{"silent-1", "a", "https://" + s1.Addr + "/v1/ingest", 30 * time.Second},
		fleetEntry{"silent-2", "a", "https://" + s2.Addr + "/v1/ingest", 30 * time.Second},
	)
	out := filepath.Join(dir, "out")
	args := []string{"audit", "--fleet", file, "--out-dir", out, "--parallel", "2", "--progress", "lines"}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFleetAuditStopsOnARealSIGINT$")
	cmd.Env = append(os.Environ(), signalChildEnv+"="+strings.Join(args, "\x1f"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	poll.Until(t, "strong-1 written and both silent gateways audited", func() bool {
		_, err := os.Stat(filepath.Join(out, "results", "strong-1.json"))
		return err == nil && s1.Accepted() > 0 && s2.Accepted() > 0
	}, poll.Timeout(60*time.Second))
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("hardgate did not stop within 20s of SIGINT\nstderr:\n%s", stderr.String())
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitInconclusive {
		t.Fatalf("exit %v, want 3\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	t.Logf("stderr of hardgate:\n%s", stderr.String())
	sum := readFleetJSON(t, out)
	got := statuses(sum)
	if got["strong-1"] != "pass" || got["silent-1"] != "cancelled" || got["silent-2"] != "cancelled" || sum.Interrupted != "interrupt" {
		t.Fatalf("statuses %v interrupted %q, want strong-1 pass and both silent ones cancelled", got, sum.Interrupted)
	}
	for _, f := range []string{"fleet.html", "fleet.md"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s not written after the interrupt: %v", f, err)
		}
	}
}
