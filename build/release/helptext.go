package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
)

// command is a program or one of its subcommands, with its --help text.
type command struct {
	// Path is the words that run it: ["hardgate"], ["hardgate", "history", "add"].
	Path []string
	// Summary is the one-line description its parent lists, "" if none.
	Summary string
	// Help is the --help text.
	Help string
	// Sub are its subcommands, in the order the help lists them.
	Sub []*command
}

// Name is the command's words joined by spaces.
func (c *command) Name() string { return strings.Join(c.Path, " ") }

// helpRunner runs the program with args and returns its help text and
// whether it exited 0.
type helpRunner func(ctx context.Context, args ...string) (string, bool)

// execHelp runs bin with a fixed, minimal environment, so that the help
// text does not depend on the caller's terminal or variables. The help is
// stdout, or stderr when stdout is empty (the flag package's -help).
func execHelp(bin, home string) helpRunner {
	return func(ctx context.Context, args ...string) (string, bool) {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "LANG=C.UTF-8", "NO_COLOR=1", "TERM=dumb"}
		cmd.Dir = home
		var stdout, stderr bytes.Buffer
		cmd.Stdout = &stdout
		cmd.Stderr = &stderr
		err := cmd.Run()
		if stdout.Len() == 0 {
			return stderr.String(), err == nil
		}
		return stdout.String(), err == nil
	}
}

// readCommands reads prog's --help and, recursively, the --help of every
// subcommand it names. A word whose --help fails, or prints no "Usage",
// is not a command (hardgate version prints the version).
func readCommands(ctx context.Context, prog string, run helpRunner) (*command, error) {
	help, ok := run(ctx, "--help")
	if !ok || !strings.Contains(help, "Usage") {
		return nil, fmt.Errorf("%s --help: no usage text", prog)
	}
	root := &command{Path: []string{prog}, Help: help}
	readSubcommands(ctx, root, run, 3)
	return root, nil
}

func readSubcommands(ctx context.Context, c *command, run helpRunner, depth int) {
	if depth == 0 {
		return
	}
	for _, s := range listedCommands(c.Help, c.Path) {
		args := append(slices.Clone(c.Path[1:]), s.name, "--help")
		help, ok := run(ctx, args...)
		if !ok || !strings.HasPrefix(strings.TrimSpace(help), "Usage") {
			continue
		}
		sub := &command{Path: append(slices.Clone(c.Path), s.name), Summary: s.summary, Help: help}
		if help != c.Help {
			readSubcommands(ctx, sub, run, depth-1)
		}
		c.Sub = append(c.Sub, sub)
	}
}

type listed struct{ name, summary string }

var (
	sectionRE   = regexp.MustCompile(`^([A-Z][A-Za-z ]*):\s*(.*)$`)
	commandRE   = regexp.MustCompile(`^\s{2,}([a-z][a-z0-9-]*)(?:\s+(.*))?$`)
	wordRE      = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	summarySpan = regexp.MustCompile(`\s{2,}`)
)

// listedCommands returns the subcommands a help text names: the first
// word of each line of a "Commands:" section, and the word after the
// command's own path on each line of a "Usage:" section
// ("  ingestd token add --config FILE ..."). Summaries come from the
// "Commands:" lines, or from the text after two or more spaces on a Usage line.
func listedCommands(help string, path []string) []listed {
	var out []listed
	seen := map[string]bool{}
	add := func(name, summary string) {
		if !seen[name] {
			seen[name] = true
			out = append(out, listed{name, strings.TrimSpace(summary)})
		}
	}
	prefix := strings.Join(path, " ") + " "
	section := ""
	for _, line := range strings.Split(help, "\n") {
		if m := sectionRE.FindStringSubmatch(line); m != nil {
			section = m[1]
			if rest := strings.TrimSpace(m[2]); section == "Usage" && strings.HasPrefix(rest, prefix) {
				line = "  " + rest
			} else {
				continue
			}
		}
		if strings.TrimSpace(line) == "" {
			section = "" // a blank line ends a section
			continue
		}
		switch section {
		case "Commands":
			if m := commandRE.FindStringSubmatch(line); m != nil {
				summary := m[2]
				if loc := summarySpan.FindStringIndex(summary); loc != nil {
					summary = summary[loc[1]:]
				}
				add(m[1], summary)
			}
		case "Usage":
			rest, ok := strings.CutPrefix(strings.TrimSpace(line), prefix)
			if !ok || !strings.HasPrefix(line, "  ") {
				continue
			}
			word, after, _ := strings.Cut(rest, " ")
			if !wordRE.MatchString(word) {
				continue
			}
			summary := ""
			if loc := summarySpan.FindStringIndex(after); loc != nil {
				summary = after[loc[1]:]
			}
			add(word, summary)
		}
	}
	return out
}

var flagRE = regexp.MustCompile(`(?:^|[\s\[(|])--([a-z][a-z0-9-]*)`)

// flagsOf returns the flags a help text documents, as --name, sorted:
// the entries of its "Flags:" section and every --name on its Usage lines.
func flagsOf(help string) []string {
	seen := map[string]bool{}
	section := ""
	for _, line := range strings.Split(help, "\n") {
		if m := sectionRE.FindStringSubmatch(line); m != nil {
			section = m[1]
			line = " " + m[2]
		} else if strings.TrimSpace(line) == "" {
			section = "" // a blank line ends a section
		}
		switch section {
		case "Flags":
			if strings.HasPrefix(line, "  -") {
				if f := strings.Fields(strings.TrimLeft(line, " -")); len(f) > 0 && wordRE.MatchString(f[0]) {
					seen["--"+f[0]] = true
				}
			}
		case "Usage":
			for _, m := range flagRE.FindAllStringSubmatch(line, -1) {
				seen["--"+m[1]] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}
