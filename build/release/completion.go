package main

import (
	"fmt"
	"strings"
)

// bashCompletion renders a bash completion script for a program from its
// commands: subcommand names after the program (and after a command that
// has subcommands), the flags a command's help documents after a "-", and
// file names otherwise.
func bashCompletion(c *command) string {
	prog := c.Path[0]
	fn := "_" + strings.ReplaceAll(prog, "-", "_")
	var b strings.Builder
	fmt.Fprintf(&b, "# bash completion for %s, generated from its --help by build/release.\n", prog)
	fmt.Fprintf(&b, "%s() {\n", fn)
	b.WriteString("\tlocal cur=${COMP_WORDS[COMP_CWORD]} path=\"\" words=\"\" i\n")
	b.WriteString("\tfor ((i = 1; i < COMP_CWORD; i++)); do\n")
	b.WriteString("\t\tcase \"${COMP_WORDS[i]}\" in -*) ;; *) path=\"$path ${COMP_WORDS[i]}\" ;; esac\n")
	b.WriteString("\tdone\n")
	b.WriteString("\tcase \"${path# }\" in\n")
	writeCases(&b, c, "")
	b.WriteString("\tesac\n")
	b.WriteString("\tif [[ $cur == -* || -n $words && $words != *--* ]]; then\n")
	b.WriteString("\t\tmapfile -t COMPREPLY < <(compgen -W \"$words\" -- \"$cur\")\n")
	b.WriteString("\telse\n")
	b.WriteString("\t\tmapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n")
	b.WriteString("\tfi\n")
	b.WriteString("}\n")
	fmt.Fprintf(&b, "complete -o filenames -F %s %s\n", fn, prog)
	return b.String()
}

// writeCases writes one case arm per command: its subcommands when it has
// some, else its flags. Arguments that are not words of the command path
// (file names, ids) fall through to the last arm of their command.
func writeCases(b *strings.Builder, c *command, path string) {
	var words []string
	if len(c.Sub) > 0 {
		for _, s := range c.Sub {
			words = append(words, s.Path[len(s.Path)-1])
		}
	} else {
		words = flagsOf(c.Help)
	}
	for _, s := range c.Sub {
		writeCases(b, s, strings.TrimSpace(path+" "+s.Path[len(s.Path)-1]))
	}
	pattern := `""`
	if path != "" {
		pattern = fmt.Sprintf("%q | %q\\ *", path, path)
		if len(c.Sub) > 0 {
			pattern = fmt.Sprintf("%q", path)
		}
	}
	fmt.Fprintf(b, "\t%s) words=%q ;;\n", pattern, strings.Join(words, " "))
}
