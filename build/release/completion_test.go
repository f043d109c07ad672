package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// complete runs the completion script in bash for a command line whose
// last word is being completed, in dir, and returns the candidates.
func complete(t *testing.T, script, dir string, words ...string) []string {
	t.Helper()
	var quoted []string
	for _, w := range words {
		quoted = append(quoted, "'"+w+"'")
	}
	prog := "_" + words[0]
	src := script + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
		itoa(len(words)-1) + "\n" + prog + "\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
	cmd := exec.Command("bash", "--norc", "--noprofile", "-c", src)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestBashCompletion(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "after.json"), nil, 0o644)
	hg, err := readCommands(context.Background(), "hardgate", fakeRunner("hardgate"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := readCommands(context.Background(), "ingestd", fakeRunner("ingestd"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		script string
		words  []string
		want   string
	}{
		{"the first word is a command", bashCompletion(hg), []string{"hardgate", "a"}, "audit"},
		{"every command is offered", bashCompletion(hg), []string{"hardgate", ""}, "audit history"},
		{"a command's flags after a dash", bashCompletion(hg), []string{"hardgate", "audit", "--f"}, "--format"},
		{"a flag after a flag value", bashCompletion(hg), []string{"hardgate", "audit", "--ca", "ca.pem", "--c"}, "--ca"},
		{"files where no dash is typed", bashCompletion(hg), []string{"hardgate", "audit", "--ca", "aft"}, "after.json"},
		{"a nested command's subcommands", bashCompletion(hg), []string{"hardgate", "history", ""}, "add list"},
		{"a nested command's flags", bashCompletion(hg), []string{"hardgate", "history", "list", "--l"}, "--limit"},
		{"a nested command's file arguments", bashCompletion(hg), []string{"hardgate", "history", "add", "af"}, "after.json"},
		{"ingestd: subcommands from its Usage lines", bashCompletion(in), []string{"ingestd", ""}, "run token"},
		{"ingestd: token's actions", bashCompletion(in), []string{"ingestd", "token", "r"}, "revoke"},
		{"ingestd: an action's flags", bashCompletion(in), []string{"ingestd", "token", "add", "--"}, "--config --device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(complete(t, tt.script, dir, tt.words...), " "); got != tt.want {
				t.Errorf("complete %q = %q, want %q", tt.words, got, tt.want)
			}
		})
	}
}
