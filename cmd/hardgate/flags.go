package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hardgate/hardgate/internal/spelling"
)

// errReported is a parse error whose one-line message is already printed.
var errReported = errors.New("usage error reported")

// parseArgs parses args into fs and keeps a mistake to one line: an
// unknown flag names the flag meant ("--uri": did you mean --url?) and
// where the help is, instead of the whole flag list; -h and --help print
// the full help. With interleaved, positional arguments may stand between
// flags. It returns the positional arguments; flag.ErrHelp after help.
func parseArgs(fs *flag.FlagSet, args []string, stderr io.Writer, interleaved bool) ([]string, error) {
	usage := fs.Usage
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	defer func() { fs.Usage = usage; fs.SetOutput(stderr) }()
	if name, ok := firstUnknownFlag(fs, args, interleaved); ok {
		line := fmt.Sprintf("%s: unknown flag --%s", fs.Name(), name)
		if s := spelling.Phrase(suggestFlag(fs, name), func(s string) string { return "--" + s }); s != "" {
			line += "; " + s
		}
		fmt.Fprintf(stderr, "%s (%s --help lists the flags)\n", line, fs.Name())
		return nil, errReported
	}
	var pos []string
	var err error
	if interleaved {
		pos, err = parseInterleaved(fs, args)
	} else {
		err = fs.Parse(args)
		pos = fs.Args()
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stderr)
		usage()
		return nil, flag.ErrHelp
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v (%s --help lists the flags)\n", fs.Name(), err, fs.Name())
		return nil, errReported
	}
	return pos, nil
}

// flagAliases are other tools' names for hardgate's flags (curl's
// --cacert, the common --output), so that a misspelling of those is
// understood too.
var flagAliases = map[string]string{
	"output": "out", "cacert": "ca", "cafile": "ca", "ca-file": "ca", "ca-cert": "ca",
	"uri": "url", "endpoint": "url", "token": "token-env", "config": "gateway-config",
	"kind": "gateway-kind", "spec": "target", "verbose": "v",
}

// suggestFlag names the flags of fs closest to name, or to another tool's
// name for one of them.
func suggestFlag(fs *flag.FlagSet, name string) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	for alias, target := range flagAliases {
		if fs.Lookup(target) != nil && fs.Lookup(alias) == nil {
			names = append(names, alias)
		}
	}
	var out []string
	for _, s := range spelling.Suggest(name, names) {
		if target, ok := flagAliases[s]; ok && fs.Lookup(s) == nil {
			s = target
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// firstUnknownFlag scans args as package flag does and returns the name of
// the first flag fs does not define (-h and -help aside).
func firstUnknownFlag(fs *flag.FlagSet, args []string, interleaved bool) (string, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return "", false
		}
		if len(a) < 2 || a[0] != '-' {
			if !interleaved {
				return "", false
			}
			continue
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		name, _, hasValue := strings.Cut(name, "=")
		if name == "" {
			return "", false // package flag reports "bad flag syntax"
		}
		f := fs.Lookup(name)
		if f == nil {
			if name == "h" || name == "help" {
				return "", false
			}
			return name, true
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); (!ok || !b.IsBoolFlag()) && !hasValue {
			i++ // the flag's value
		}
	}
	return "", false
}

// unknownCommand prints one line for a command that does not exist, with
// the command meant and where the help is.
func unknownCommand(stderr io.Writer, prog, cmd string, commands []string) {
	line := fmt.Sprintf("%s: unknown command %q", prog, cmd)
	if s := spelling.Phrase(spelling.Suggest(cmd, commands), func(s string) string { return s }); s != "" {
		line += "; " + s
	}
	fmt.Fprintf(stderr, "%s (%s --help lists the commands)\n", line, prog)
}

// parseExit is the exit code of a parseArgs error: 0 after help, else 2.
func parseExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}
