package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/interop"
)

// TestCompletionScriptsComplete runs each shell's script in the real shell
// (bash here; zsh and fish from Debian, installed by .ci/run) and asks it
// to complete a command, a history subcommand and a flag.
func TestCompletionScriptsComplete(t *testing.T) {
	dir := t.TempDir()
	script := func(shell string) string {
		code, stdout, stderr := runCLI(t, "completion", shell)
		if code != exitOK {
			t.Fatalf("completion %s: exit %d: %s", shell, code, stderr)
		}
		p := filepath.Join(dir, "hardgate."+shell)
		if err := os.WriteFile(p, []byte(stdout), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("bash completes commands, history subcommands and each command's flags", func(t *testing.T) {
		bash := interop.Binary(t, "bash", "bash")
		p := script("bash")
		complete := func(words ...string) string {
			line := "source " + p + "; COMP_WORDS=(" + strings.Join(words, " ") + "); COMP_CWORD=" + strconv.Itoa(len(words)-1) + "; _hardgate; echo \"${COMPREPLY[*]}\""
			out, err := exec.Command(bash, "--norc", "-c", line).CombinedOutput()
			if err != nil {
				t.Fatalf("bash: %v\n%s", err, out)
			}
			return strings.TrimSpace(string(out))
		}
		for _, tc := range []struct {
			words []string
			want  string
		}{
			{[]string{"hardgate", "au"}, "audit"},
			{[]string{"hardgate", "history", "tr"}, "trend"},
			{[]string{"hardgate", "audit", "--gateway-c"}, "--gateway-config"},
			{[]string{"hardgate", "audit", "--allow-c"}, "--allow-coverage-loss"},
			{[]string{"hardgate", "report", "x.json", "--only"}, "--only-failed"},
			{[]string{"hardgate", "history", "list", "--li"}, "--limit"},
			{[]string{"hardgate", "completion", "f"}, "fish"},
		} {
			if got := complete(tc.words...); got != tc.want {
				t.Errorf("%v completes to %q, want %q", tc.words, got, tc.want)
			}
		}
	})
	t.Run("zsh loads the script and completes a flag", func(t *testing.T) {
		zsh := interop.Binary(t, "zsh", "zsh")
		p := script("zsh")
		// compadd only works inside completion; stand it in to see the candidates.
		line := "autoload -Uz compinit && compinit -u -D; source " + p + "; compadd() { shift $(( ${@[(i)--]} )); print -l -- $@ }; " +
			"words=(hardgate audit --to); CURRENT=3; PREFIX=--to; _hardgate | grep -- '^--to'"
		out, err := exec.Command(zsh, "-f", "-c", line).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "--token-env" {
			t.Fatalf("zsh: %v\n%s", err, out)
		}
	})
	t.Run("fish loads the script and completes a flag", func(t *testing.T) {
		fish := interop.Binary(t, "fish", "fish")
		p := script("fish")
		out, err := exec.Command(fish, "--no-config", "-c", "source "+p+"; complete -C 'hardgate diff a.json b.json --allow-c'").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--allow-coverage-loss") {
			t.Fatalf("fish: %v\n%s", err, out)
		}
	})
	t.Run("an unknown shell is a usage error", func(t *testing.T) {
		if code, _, stderr := runCLI(t, "completion", "tcsh"); code != exitUsage || !strings.Contains(stderr, "bash, zsh, fish") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
}
