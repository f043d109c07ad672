package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

const completionUsage = `Usage: hardgate completion bash|zsh|fish

Prints a shell completion script for hardgate's commands, history
subcommands and flags (file names elsewhere). The flags are read from the
commands themselves, so the script is as current as the binary.

Examples:
  source <(hardgate completion bash)                        # this shell
  hardgate completion bash > /etc/bash_completion.d/hardgate
  hardgate completion zsh > "${fpath[1]}/_hardgate"          # then restart zsh
  hardgate completion fish > ~/.config/fish/completions/hardgate.fish
`

// completionShells are the shells "hardgate completion" writes for.
var completionShells = []string{"bash", "zsh", "fish"}

func runCompletion(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stdout, completionUsage)
		return exitOK
	}
	if len(args) != 1 || !slices.Contains(completionShells, args[0]) {
		fmt.Fprintf(stderr, "hardgate completion: name one shell: %s (hardgate completion --help)\n", strings.Join(completionShells, ", "))
		return exitUsage
	}
	tree := completionTree(ctx)
	switch args[0] {
	case "bash":
		writeBash(stdout, tree)
	case "zsh":
		writeZsh(stdout, tree)
	case "fish":
		writeFish(stdout, tree)
	}
	return exitOK
}

// completionCommand is a command path ("audit", "history add") and its flags.
type completionCommand struct {
	path  string
	flags []string
}

// helpFlag matches a flag line of package flag's PrintDefaults.
var helpFlag = regexp.MustCompile(`(?m)^  -([A-Za-z0-9][A-Za-z0-9-]*)`)

// completionTree lists every command with its flags, read from each
// command's own --help (package flag's list of the flags it defines).
func completionTree(ctx context.Context) []completionCommand {
	var paths []string
	for _, c := range commands {
		switch c {
		case "help", "version", "completion":
		case "history":
			for _, sub := range historyCommands {
				paths = append(paths, "history "+sub)
			}
		default:
			paths = append(paths, c)
		}
	}
	var out []completionCommand
	for _, p := range paths {
		var help bytes.Buffer
		run(ctx, append(strings.Fields(p), "--help"), io.Discard, &help)
		cc := completionCommand{path: p}
		for _, m := range helpFlag.FindAllStringSubmatch(help.String(), -1) {
			if !slices.Contains(cc.flags, "--"+m[1]) {
				cc.flags = append(cc.flags, "--"+m[1])
			}
		}
		out = append(out, cc)
	}
	return out
}

func topCommands() string {
	return strings.Join(slices.DeleteFunc(slices.Clone(commands), func(c string) bool { return c == "help" }), " ")
}

func writeBash(w io.Writer, tree []completionCommand) {
	fmt.Fprintf(w, `# bash completion for hardgate: source <(hardgate completion bash)
_hardgate() {
  local cur="${COMP_WORDS[COMP_CWORD]}" cmd="${COMP_WORDS[1]}" flags=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "%s" -- "$cur")); return
  fi
  if [ "$cmd" = history ]; then
    if [ "$COMP_CWORD" -eq 2 ]; then
      COMPREPLY=($(compgen -W "%s" -- "$cur")); return
    fi
    cmd="history ${COMP_WORDS[2]}"
  fi
  case "$cmd" in
`, topCommands(), strings.Join(historyCommands, " "))
	for _, c := range tree {
		fmt.Fprintf(w, "    %q) flags=%q ;;\n", c.path, strings.Join(c.flags, " "))
	}
	fmt.Fprint(w, `    completion) COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur")); return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _hardgate hardgate
`)
}

func writeZsh(w io.Writer, tree []completionCommand) {
	fmt.Fprintf(w, `#compdef hardgate
# zsh completion for hardgate: hardgate completion zsh > "${fpath[1]}/_hardgate"
_hardgate() {
  local cmd=${words[2]}
  local -a flags
  if (( CURRENT == 2 )); then
    compadd -- %s; return
  fi
  if [[ $cmd == history ]]; then
    if (( CURRENT == 3 )); then
      compadd -- %s; return
    fi
    cmd="history ${words[3]}"
  fi
  case $cmd in
`, topCommands(), strings.Join(historyCommands, " "))
	for _, c := range tree {
		fmt.Fprintf(w, "    %q) flags=(%s) ;;\n", c.path, strings.Join(c.flags, " "))
	}
	fmt.Fprint(w, `    completion) compadd -- bash zsh fish; return ;;
  esac
  if [[ $PREFIX == -* ]]; then
    compadd -- $flags
  else
    _files
  fi
}
if [[ $funcstack[1] == _hardgate ]]; then
  _hardgate "$@"
else
  compdef _hardgate hardgate
fi
`)
}

func writeFish(w io.Writer, tree []completionCommand) {
	fmt.Fprintln(w, "# fish completion for hardgate: hardgate completion fish > ~/.config/fish/completions/hardgate.fish")
	fmt.Fprintf(w, "complete -c hardgate -n __fish_use_subcommand -f -a %q\n", topCommands())
	fmt.Fprintf(w, "complete -c hardgate -n '__fish_seen_subcommand_from history; and not __fish_seen_subcommand_from %s' -f -a %q\n",
		strings.Join(historyCommands, " "), strings.Join(historyCommands, " "))
	fmt.Fprintln(w, "complete -c hardgate -n '__fish_seen_subcommand_from completion' -f -a 'bash zsh fish'")
	for _, c := range tree {
		cond := "__fish_seen_subcommand_from " + c.path
		if sub, ok := strings.CutPrefix(c.path, "history "); ok {
			cond = "__fish_seen_subcommand_from history; and __fish_seen_subcommand_from " + sub
		}
		for _, f := range c.flags {
			fmt.Fprintf(w, "complete -c hardgate -n '%s' -l %s\n", cond, strings.TrimPrefix(f, "--"))
		}
	}
}
