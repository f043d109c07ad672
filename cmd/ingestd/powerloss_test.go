//go:build linux && !arm && !386

package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/auth"
	"github.com/hardgate/hardgate/internal/lazyfs"
)

// The power-loss tests run ingestd (the real binary, HTTPS on loopback,
// concurrent clients) with its store on a lazyfs mount, which keeps every
// write since the last fsync in memory. A power cut freezes the mount,
// SIGKILLs ingestd, discards everything unsynced and unmounts; the next
// round remounts and restarts ingestd, which must open the store (its
// integrity check, no repair). At the end every batch that got a 202 must
// be in the file sink or still queued, with its content.

var (
	powerCuts = flag.Int("powerloss.cuts", 10, "power cuts in TestPowerCutLosesNoAcknowledgedBatch (bench/powerloss/run.sh runs 100)")
	powerSeed = flag.Uint64("powerloss.seed", 0, "seed of the power-loss tests' random cut points (0: from the clock; the seed is logged)")
)

// mutantTag builds ingestd without the queue's WAL sync (SQLite
// synchronous=NORMAL alone): it acknowledges a batch before its WAL frames
// are fsynced.
const mutantTag = "hardgate_ack_before_fsync"

func TestPowerCutLosesNoAcknowledgedBatch(t *testing.T) {
	lazyfs.Require(t)
	bin := buildIngestd(t)
	res := runPowerCuts(t, powerRun{bin: bin, cuts: *powerCuts, power: true, checkpointer: true, forward: true, seed: seed(t)})
	t.Logf("power cuts: %d, acknowledged: %d, lost: %d", res.cuts, res.acked, res.lost)
	t.Logf("details: %s", res)
	if res.lost > 0 {
		t.Fatalf("%d of %d acknowledged batches lost or altered across %d power cuts", res.lost, res.acked, res.cuts)
	}
	if res.acked < 5*res.cuts {
		t.Fatalf("only %d batches acknowledged over %d cuts: the load did not run", res.acked, res.cuts)
	}
	if res.duringCheckpoint == 0 {
		t.Fatalf("no cut landed during a checkpoint (%s)", res)
	}
}

// TestPowerCutCatchesAnAckBeforeFsyncBuild runs the same harness on a
// build that acknowledges before fsync: kill -9 loses nothing of it (the
// kernel keeps the written pages), a power cut loses acknowledged batches.
func TestPowerCutCatchesAnAckBeforeFsyncBuild(t *testing.T) {
	lazyfs.Require(t)
	bin := buildTagged(t, mutantTag)
	s := seed(t)
	killed := runPowerCuts(t, powerRun{bin: bin, cuts: 2, power: false, seed: s})
	t.Logf("mutant under kill -9: kills: %d, acknowledged: %d, lost: %d", killed.cuts, killed.acked, killed.lost)
	if killed.lost != 0 {
		t.Errorf("the mutant lost %d batches to kill -9; only a power cut should show its bug", killed.lost)
	}
	cut := runPowerCuts(t, powerRun{bin: bin, cuts: 2, power: true, seed: s + 1})
	t.Logf("mutant under power cuts: power cuts: %d, acknowledged: %d, lost: %d", cut.cuts, cut.acked, cut.lost)
	if cut.lost == 0 {
		t.Fatalf("the power-loss test did not catch a build that acknowledges before fsync (%s)", cut)
	}
}

func seed(t *testing.T) uint64 {
	s := *powerSeed
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -powerloss.seed=%d)", s, s)
	return s
}

// buildTagged compiles this command with a build tag, once per test.
func buildTagged(t *testing.T, tag string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the ingestd binary")
	}
	bin := filepath.Join(t.TempDir(), "ingestd-"+tag)
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the mutant build needs the go command on PATH: %v", err)
	}
	cmd := exec.Command(gobin, "build", "-tags", tag, "-o", bin, ".")
	cmd.Env = append(withoutRace(os.Environ()), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags %s: %v\n%s", tag, err, out)
	}
	return bin
}

// powerRun is one run of the harness.
type powerRun struct {
	bin          string
	cuts         int
	power        bool // a power cut; false: kill -9 only, the page cache survives
	checkpointer bool // force WAL checkpoints from a second process
	forward      bool // every other round forwards to the sink (acks delete batches)
	seed         uint64
}

// powerResult is what a run found.
type powerResult struct {
	cuts, acked, lost, altered int
	duringCheckpoint           int   // cuts that froze a checkpoint between its writes and its fsync
	checkpoints                int   // checkpoints the second process forced
	discardedBytes             int64 // unsynced page bytes the cuts discarded
	undoneNames                int   // directory changes the cuts undid
	fsyncs                     int64
	elapsed                    time.Duration
}

func (r powerResult) String() string {
	return fmt.Sprintf("cuts %d (%d during a checkpoint), acknowledged %d, lost %d (altered %d), forced checkpoints %d, fsyncs %d, unsynced KiB discarded %d, directory changes undone %d, %.1fs",
		r.cuts, r.duringCheckpoint, r.acked, r.lost, r.altered, r.checkpoints, r.fsyncs, r.discardedBytes>>10, r.undoneNames, r.elapsed.Seconds())
}

// runPowerCuts runs ingestd on a lazyfs mount for run.cuts rounds, each
// ending in a cut, then restarts it once more, lets it drain to the sink
// and checks every acknowledged batch.
func runPowerCuts(t *testing.T, run powerRun) powerResult {
	t.Helper()
	start := time.Now()
	dir := t.TempDir()
	backing := filepath.Join(dir, "backing")
	mnt := filepath.Join(dir, "store") // the config's store.dir
	for _, d := range []string{backing, mnt} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	sink := filepath.Join(dir, "sink.ndjson") // the upstream: not on the mount
	forward := "forward:\n  kind: file\n  file:\n    path: " + sink + "\n  backoff_min: 20ms\n  backoff_max: 200ms\n"
	cfgPath := writeConfig(t, dir, "limits:\n  rate_per_device: 0\n"+forward+"log:\n  format: json\n")
	// Rounds that forward nothing keep every acknowledged batch in the
	// store, where the cut can reach it.
	holdPath := filepath.Join(dir, "ingestd-hold.yaml")
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(holdPath, []byte(strings.Replace(string(data), forward, "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	token, err := auth.AddToken(filepath.Join(dir, "tokens"), "sensor-1")
	if err != nil {
		t.Fatal(err)
	}
	client := clientFor(t, filepath.Join(dir, "ca.pem"))
	rng := rand.New(rand.NewPCG(run.seed, 0x9e3779b97f4a7c15))
	load := &loadGen{client: client, token: token, acked: map[string]string{}, padMax: 512}
	var res powerResult
	for round := range run.cuts {
		cfg := holdPath
		if run.forward && round%2 == 1 {
			cfg = cfgPath
		}
		r := &powerRound{t: t, run: run, rng: rng, backing: backing, mnt: mnt, cfgPath: cfg, load: load, index: round}
		r.play(&res)
	}
	res.cuts = run.cuts
	res.acked = len(load.acked)
	res.lost, res.altered = verifyAfterRestart(t, run.bin, cfgPath, backing, mnt, client, sink, load.acked)
	res.elapsed = time.Since(start)
	return res
}

// powerRound is one round: mount, start, load, cut.
type powerRound struct {
	t       *testing.T
	run     powerRun
	rng     *rand.Rand
	backing string
	mnt     string
	cfgPath string
	load    *loadGen
	index   int
	mu      sync.Mutex
	fired   bool
	fire    chan struct{}
	armed   int  // freeze at this many more writes to the store file (0: not armed)
	dbDirty bool // queue.sqlite written since its last fsync: a checkpoint is in progress
	inCkpt  bool // the freeze found a checkpoint in progress
	fs      *lazyfs.FS
}

// hook watches the store file: in WAL mode only a checkpoint writes it.
func (r *powerRound) hook(e lazyfs.Event) {
	if e.Path != "queue.sqlite" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch e.Op {
	case lazyfs.OpWrite:
		r.dbDirty = true
		if r.armed > 0 {
			if r.armed--; r.armed == 0 {
				r.freezeLocked()
			}
		}
	case lazyfs.OpFsync:
		r.dbDirty = false
	}
}

func (r *powerRound) freeze() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.freezeLocked()
}

func (r *powerRound) freezeLocked() {
	if r.fired {
		return
	}
	r.fired = true
	if r.run.power {
		r.fs.Freeze()
	}
	r.inCkpt = r.dbDirty
	close(r.fire)
}

func (r *powerRound) arm(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.armed = n
}

func (r *powerRound) play(res *powerResult) {
	t := r.t
	r.fire = make(chan struct{})
	fsys, err := lazyfs.Mount(lazyfs.Options{Backing: r.backing, Mountpoint: r.mnt, Hook: r.hook})
	if err != nil {
		t.Fatalf("round %d: %v", r.index, err)
	}
	r.fs = fsys
	t.Cleanup(func() { _, _ = fsys.Cut() })  // after a failure; nothing after the round's own cut
	c := startChild(t, r.run.bin, r.cfgPath) // its start opens the store: integrity check, no repair
	var ckpt *checkpointer
	if r.run.checkpointer {
		ckpt = startCheckpointer(t, filepath.Join(r.mnt, "queue.sqlite"))
	}
	reached := r.load.start(c.addr, 5+r.rng.IntN(40))
	select {
	case <-reached:
	case <-c.exited:
		t.Fatalf("round %d: ingestd exited:\n%s", r.index, c.log())
	case <-time.After(15 * time.Second):
		t.Fatalf("round %d: no batch acknowledged:\n%s", r.index, c.log())
	}
	// Half the rounds cut during a checkpoint (at the k-th write to the
	// store file), the others at a random moment.
	fallback := time.Duration(r.rng.IntN(150)) * time.Millisecond
	if r.run.checkpointer && r.index%2 == 0 {
		r.arm(1 + r.rng.IntN(6))
		fallback = 2 * time.Second
	}
	timer := time.AfterFunc(fallback, r.freeze)
	<-r.fire
	timer.Stop()
	c.stop(t, syscall.SIGKILL)
	if ckpt != nil {
		res.checkpoints += ckpt.kill(t)
	}
	r.load.stop()
	if r.inCkpt {
		res.duringCheckpoint++
	}
	if !r.run.power {
		// kill -9 only: the kernel's page cache survives the process.
		if err := fsys.Unmount(); err != nil {
			t.Fatalf("round %d: unmount: %v", r.index, err)
		}
		return
	}
	st, err := fsys.Cut()
	if err != nil {
		t.Fatalf("round %d: cut: %v", r.index, err)
	}
	res.discardedBytes += st.LostBytes
	res.undoneNames += st.UndoneNames
	res.fsyncs += st.Fsyncs
}
