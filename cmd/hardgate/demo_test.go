package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/demo"
)

// TestDemoOutputMatchesTheREADME runs `hardgate demo` and compares what it
// prints with the "Real output" block of the README, so that the README
// cannot drift from the code. Ports, temporary paths, the output directory
// and the elapsed time are normalised; every other character must match.
func TestDemoOutputMatchesTheREADME(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runCLI(t, "demo", "--dir", dir)
	if code != exitOK {
		t.Fatalf("demo exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, name := range []string{"before", "after", "delta"} {
		for _, ext := range []string{".json", ".md", ".html"} {
			if fi, err := os.Stat(filepath.Join(dir, name+ext)); err != nil || fi.Size() == 0 {
				t.Errorf("demo did not write %s%s: %v", name, ext, err)
			}
		}
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	block, ok := realOutputBlock(string(readme))
	if !ok {
		t.Fatal(`README.md has no "Real output" code block`)
	}
	// The README's figures are the example's data, not prose of their own.
	expected, err := demo.WorkedExample()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range append([]string{
		fmt.Sprintf("before: %s, posture %s, risk score %d,", expected.Before.Status, expected.Before.Posture, expected.Before.RiskScore),
		fmt.Sprintf("after: %s, posture %s, risk score %d,", expected.After.Status, expected.After.Posture, expected.After.RiskScore),
	}, prefixed("    improved: ", expected.Delta.Improved)...) {
		if !strings.Contains(block, line) {
			t.Errorf("the README's Real output lacks %q (examples/gateway-hardening/expected.yaml)", line)
		}
	}
	got := normaliseDemo(strings.ReplaceAll(stdout, dir, "hardgate-demo"))
	want := normaliseDemo(block)
	if got != want {
		t.Errorf("the README's demo output is stale; paste the output of `go run ./cmd/hardgate demo` into it.\n--- README (normalised)\n%s\n--- demo (normalised)\n%s", want, got)
	}
}

func prefixed(prefix string, items []string) []string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = prefix + s
	}
	return out
}

// realOutputBlock returns the first fenced block after "Real output".
func realOutputBlock(readme string) (string, bool) {
	_, rest, ok := strings.Cut(readme, "Real output")
	if !ok {
		return "", false
	}
	_, rest, ok = strings.Cut(rest, "```\n")
	if !ok {
		return "", false
	}
	block, _, ok := strings.Cut(rest, "```\n")
	return block, ok
}

var demoNoise = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:PORT"},
	{regexp.MustCompile(`\S*hardgate-demo-\d+`), "TMPDIR"},
	{regexp.MustCompile(`in \d+\.\d+s:`), "in N.Ns:"},
}

func normaliseDemo(s string) string {
	for _, n := range demoNoise {
		s = n.re.ReplaceAllString(s, n.with)
	}
	return s
}
