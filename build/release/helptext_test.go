package main

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

// Help texts shaped like the real programs': hardgate lists "Commands:",
// ingestd lists one Usage line per subcommand, and the flag package
// prints "Flags:" entries (a one-letter flag with its text after a tab).
var fakeHelp = map[string]string{
	"hardgate --help": `hardgate proves things.

Usage:
  hardgate <command> [flags]

Commands:
  audit     probe a gateway; write the result
  history   keep results over time
  version   print the version

Examples:
  hardgate audit --url https://127.0.0.1:8443/v1/ingest
`,
	"hardgate audit --help": `Usage: hardgate audit (--target FILE | --url URL) [flags]

Flags:
  -ca FILE
    	trust anchor FILE
  -format string
    	output format (default "text")
  -v	log every probe request
`,
	"hardgate history --help": `Usage: hardgate history <command> [flags]

Commands:
  add RESULT.json...   store results
  list                 stored audits, newest first
`,
	"hardgate history add --help": `Usage: hardgate history add RESULT.json... [--db FILE]
`,
	"hardgate history list --help": `Usage: hardgate history list [--db FILE] [--limit N]

Flags:
  -db FILE
    	history database
  -limit int
    	at most N
`,
	"hardgate version --help": "hardgate v1.2.3\n",
	"ingestd --help": `ingestd: hardened gateway

Usage:
  ingestd run --config FILE                     serve until SIGTERM
  ingestd token add --config FILE --device ID   create a device token
  ingestd token revoke --config FILE --device ID
                                                remove every token
  ingestd version                               print the version

Examples:
  ingestd check-config --config /etc/ingestd/ingestd.yaml
`,
	"ingestd run --help": "Usage: ingestd run --config FILE\n",
	"ingestd token --help": `Usage:
  ingestd token add --config FILE --device ID
  ingestd token revoke --config FILE --device ID
`,
	"ingestd token add --help": `Usage:
  ingestd token add --config FILE --device ID
  ingestd token revoke --config FILE --device ID
`,
	"ingestd token revoke --help": `Usage:
  ingestd token add --config FILE --device ID
  ingestd token revoke --config FILE --device ID
`,
	"ingestd version --help": "ingestd v1.2.3\n",
}

func fakeRunner(prog string) helpRunner {
	return func(_ context.Context, args ...string) (string, bool) {
		h, ok := fakeHelp[prog+" "+strings.Join(args, " ")]
		return h, ok
	}
}

func names(cs []*command) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name())
	}
	return out
}

func TestReadCommands(t *testing.T) {
	tests := []struct {
		name, prog string
		want       map[string][]string // command → its subcommands
		summaries  map[string]string
	}{
		{"commands come from the Commands section, nested, and version (no usage) is left out", "hardgate",
			map[string][]string{"hardgate": {"hardgate audit", "hardgate history"}, "hardgate history": {"hardgate history add", "hardgate history list"}},
			map[string]string{"hardgate audit": "probe a gateway; write the result", "hardgate history add": "store results"}},
		{"commands come from the Usage lines, and a word named twice counts once", "ingestd",
			map[string][]string{"ingestd": {"ingestd run", "ingestd token"}, "ingestd token": {"ingestd token add", "ingestd token revoke"}},
			map[string]string{"ingestd run": "serve until SIGTERM"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := readCommands(context.Background(), tt.prog, fakeRunner(tt.prog))
			if err != nil {
				t.Fatal(err)
			}
			all := map[string]*command{}
			var walk func(c *command)
			walk = func(c *command) {
				all[c.Name()] = c
				for _, s := range c.Sub {
					walk(s)
				}
			}
			walk(root)
			for parent, want := range tt.want {
				if got := names(all[parent].Sub); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: subcommands %q, want %q", parent, got, want)
				}
			}
			for name, want := range tt.summaries {
				if got := all[name].Summary; got != want {
					t.Errorf("%s: summary %q, want %q", name, got, want)
				}
			}
		})
	}
	t.Run("a program without usage text is an error", func(t *testing.T) {
		if _, err := readCommands(context.Background(), "nope", fakeRunner("nope")); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestFlagsOf(t *testing.T) {
	tests := []struct {
		name, help string
		want       []string
	}{
		{"Flags entries, a one-letter flag with a tab, and Usage flags", fakeHelp["hardgate audit --help"],
			[]string{"--ca", "--format", "--target", "--url", "--v"}},
		{"Usage lines of several forms", fakeHelp["ingestd token --help"], []string{"--config", "--device"}},
		{"hyphenated words in prose are not flags", "Usage: x run\n\nRuns a non-loopback, well-known thing --not-in-usage.\n", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := flagsOf(tt.help); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("flagsOf = %q, want %q", got, tt.want)
			}
		})
	}
}
