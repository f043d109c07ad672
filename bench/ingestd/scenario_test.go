// Package ingestd_test runs bench/ingestd's scripts briefly, so that a
// change that breaks a scenario is caught before someone needs its figures.
// The runs take a few seconds each and need nginx, wrk, openssl and curl:
// they run with -long only.
//
//	go test ./bench/ingestd -long
package ingestd_test

import (
	"flag"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"

	"github.com/hardgate/hardgate/internal/interop"
)

var long = flag.Bool("long", false, "run the bench scripts for a few seconds each")

// TestBatchScenario runs the batch scenario for 2 s against nginx and
// ingestd: both must answer every request with a 2xx, ingestd must store
// 100 records per batch, and the report must give records/s, MB/s and
// their ratio.
func TestBatchScenario(t *testing.T) {
	if !*long {
		t.Skip("runs bench/ingestd/batch.sh for a few seconds: go test ./bench/ingestd -long")
	}
	out := runScript(t, "batch.sh", "DURATION=2s", "FLOOR=0")
	for _, re := range []string{
		`(?m)^nginx +[0-9.]+ +[0-9.]+ +0$`,
		`(?m)^ingestd +[0-9.]+ +[0-9.]+ +0$`,
		`(?m)^nginx +[0-9]+ records/s +[0-9.]+ MB/s$`,
		`(?m)^ingestd +[0-9]+ records/s +[0-9.]+ MB/s$`,
		`(?m)^ratio ingestd/nginx records/s \(and MB/s\): [0-9.]+$`,
		`29700-byte POST of 100 record\(s\)`,
	} {
		if !regexp.MustCompile(re).Match(out) {
			t.Errorf("the report has no line matching %s:\n%s", re, out)
		}
	}
	m := regexp.MustCompile(`ingestd batches durably queued: ([0-9]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no count of queued batches:\n%s", out)
	}
	if n, _ := strconv.Atoi(string(m[1])); n < 10 {
		t.Fatalf("%d batches queued in 2 s", n)
	}
}

// TestFastHTTPDiagnosis runs the single-record scenario for 2 s with
// FASTHTTP=1: bench/ingestd/fastfront must answer 202 to the token and 401
// to a wrong one (run.sh checks both before loading it), both as a static
// floor and with ingestd's queue behind it, every loaded request must get
// a 2xx, and the report must give both ratios.
func TestFastHTTPDiagnosis(t *testing.T) {
	if !*long {
		t.Skip("runs bench/ingestd/run.sh with FASTHTTP=1 for a few seconds: go test ./bench/ingestd -long")
	}
	out := runScript(t, "run.sh", "DURATION=2s", "FLOOR=0", "FASTHTTP=1")
	for _, re := range []string{
		`(?m)^fast-floor +[0-9.]+ +[0-9.]+ +0$`,
		`(?m)^fast-queue +[0-9.]+ +[0-9.]+ +0$`,
		`(?m)^ingestd +[0-9.]+ +[0-9.]+ +0$`,
		`(?m)^fast-queue CPU: [0-9.]+ s of server CPU, [0-9.]+ us per request`,
		`(?m)^ratio fast-floor/nginx req/s: [0-9.]+ `,
		`(?m)^ratio fast-queue/nginx req/s: [0-9.]+ `,
	} {
		if !regexp.MustCompile(re).Match(out) {
			t.Errorf("the report has no line matching %s:\n%s", re, out)
		}
	}
}

// runScript runs a bench script of this folder with env added to the
// environment and returns its output; it needs nginx, wrk, openssl and curl.
func runScript(t *testing.T, script string, env ...string) []byte {
	t.Helper()
	for _, p := range []string{"nginx", "wrk", "openssl", "curl"} {
		interop.Binary(t, p, p)
	}
	cmd := exec.Command("bash", script)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return out
}
