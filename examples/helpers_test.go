package examples_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// root is the repository root, seen from this package's folder.
const root = ".."

var built struct {
	once sync.Once
	dir  string
	err  error
	out  []byte
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// readmeBuildLine is the README's build command; binaries runs it.
var readmeBuildLine = regexp.MustCompile(`(?m)^go build -o bin/ ((?:\./cmd/\w+ ?)+) && export PATH="\$PWD/bin:\$PATH"$`)

// binaries builds, once for the whole package, what the README's build line
// builds, plus examples/nats/natsstream, into a temporary folder (the same
// "go build -o DIR/ PACKAGES", with DIR instead of bin/), and returns it.
func binaries(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		readme := readFile(t, "README.md")
		m := readmeBuildLine.FindStringSubmatch(readme)
		if m == nil {
			built.err = errNoBuildLine
			return
		}
		pkgs := strings.Fields(m[1])
		built.dir, built.err = os.MkdirTemp("", "hardgate-examples-bin-")
		if built.err != nil {
			return
		}
		args := append([]string{"build", "-o", built.dir + "/"}, pkgs...)
		args = append(args, "./examples/nats/natsstream")
		cmd := exec.Command(goTool(), args...)
		cmd.Dir = root
		cmd.Env = withoutRace(os.Environ())
		built.out, built.err = cmd.CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("build: %v\n%s", built.err, built.out)
	}
	for _, name := range []string{"hardgate", "ingestd", "natsstream"} {
		if _, err := os.Stat(filepath.Join(built.dir, name)); err != nil {
			t.Fatalf("the README's build line does not build %s: %v", name, err)
		}
	}
	return built.dir
}

var errNoBuildLine = errors.New(`README.md has no line "go build -o bin/ ./cmd/hardgate ./cmd/ingestd && export PATH="$PWD/bin:$PATH""`)

// withoutRace drops -race from GOFLAGS: the binaries are built as the
// README builds them. CI's GOFLAGS=-race would make every step of the
// scripts several times slower, and the race detector already runs on the
// same code in the packages' own tests.
func withoutRace(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if flags, ok := strings.CutPrefix(kv, "GOFLAGS="); ok {
			var keep []string
			for _, f := range strings.Fields(flags) {
				if f != "-race" && f != "--race" && f != "-race=true" {
					keep = append(keep, f)
				}
			}
			kv = "GOFLAGS=" + strings.Join(keep, " ")
		}
		out = append(out, kv)
	}
	return out
}

// goTool is the go command that runs this test.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

// readFile returns a repository file's text.
func readFile(t *testing.T, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// shellLines turns shell text into logical lines: continuation lines
// joined, runs of blanks collapsed, blank lines dropped.
func shellLines(text string) []string {
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(line)
		if s := strings.Join(strings.Fields(cur.String()), " "); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	return out
}

// splitComment cuts a shell line at its first "#" that starts a comment
// (outside quotes, after a blank).
func splitComment(line string) (code, comment string) {
	var quote rune
	for i, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && (i == 0 || line[i-1] == ' '):
			return strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+1:])
		}
	}
	return strings.TrimSpace(line), ""
}

// runCmd runs a command with a deadline and returns its combined output
// and exit code.
func runCmd(t *testing.T, timeout time.Duration, dir string, env []string, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s %v did not finish within %s:\n%s", name, args, timeout, out)
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v", name, err)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}

// envWith returns the environment with PATH led by dir and /usr/sbin added
// (Debian's daemons live there), without the variables that would change
// what the scripts and programs do.
func envWith(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "PATH", "KEEP", "HARDGATE_TOKEN", "HARDGATE_HISTORY", "NATS_TOKEN", "NO_COLOR":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH")+":/usr/sbin:/sbin", "NO_COLOR=1")
}
