package examples_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runsBlock marks a README code block that a run.sh runs line by line.
var runsBlock = regexp.MustCompile("(?m)^<!-- [^>]*runs this block -->\n```sh\n((?s:.*?))```")

// docCommands returns the commands a document shows for a script: the
// marked shell blocks of a markdown file, or the indented command lines of
// a YAML file's comments ("#   command").
func docCommands(t *testing.T, rel string) []string {
	t.Helper()
	text := readFile(t, rel)
	if strings.HasSuffix(rel, ".md") {
		var cmds []string
		for _, m := range runsBlock.FindAllStringSubmatch(text, -1) {
			cmds = append(cmds, shellLines(m[1])...)
		}
		return cmds
	}
	var b strings.Builder
	for _, line := range strings.Split(text, "\n") {
		if cmd, ok := strings.CutPrefix(line, "#   "); ok {
			b.WriteString(cmd + "\n")
		}
	}
	return shellLines(b.String())
}

// outcome is a command's stated outcome ("# 202", "# exit 1: FAIL") as
// the check that run.sh must make.
var outcome = regexp.MustCompile(`^(?:(\d{3})\b|exit (\d+)\b)`)

// TestDocumentedCommandsAreTheScriptsCommands: every command that a README
// or an example config's comment shows is a command of the run.sh that
// TestExampleScripts runs, word for word, so a documented step cannot
// drift from the checked one; a stated outcome ("# 202", "# exit 1") is
// checked there with expect_out or expect_exit.
func TestDocumentedCommandsAreTheScriptsCommands(t *testing.T) {
	tests := []struct {
		name, doc, script string
	}{
		{"the README's ingestd block is in the gateway-hardening script", "README.md", "gateway-hardening/run.sh"},
		{"the gateway-hardening README's blocks are its script", "examples/gateway-hardening/README.md", "gateway-hardening/run.sh"},
		{"the after config's by-hand comment is in the gateway-hardening script", "examples/gateway-hardening/after/ingestd.yaml", "gateway-hardening/run.sh"},
		{"the after target's comment is in the gateway-hardening script", "examples/targets/after.yaml", "gateway-hardening/run.sh"},
		{"the before target's comment is in the gateway-hardening script", "examples/targets/before.yaml", "gateway-hardening/run.sh"},
		{"the MQTT README's block is its script", "examples/mqtt/README.md", "mqtt/run.sh"},
		{"the NATS README's block is its script", "examples/nats/README.md", "nats/run.sh"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmds := docCommands(t, tc.doc)
			if len(cmds) == 0 {
				t.Fatalf("%s shows no command for %s (a README marks its blocks with <!-- run.sh runs this block -->)", tc.doc, tc.script)
			}
			script := shellLines(readFile(t, "examples/"+tc.script))
			for _, line := range cmds {
				cmd, comment := splitComment(line)
				cmd = strings.TrimSpace(strings.TrimSuffix(cmd, "&"))
				if cmd == "" {
					continue
				}
				found := ""
				for _, s := range script {
					if strings.Contains(s, cmd) {
						found = s
						break
					}
				}
				if found == "" {
					t.Errorf("%s shows a command that %s does not run:\n  %s", tc.doc, tc.script, cmd)
					continue
				}
				if m := outcome.FindStringSubmatch(comment); m != nil {
					want := "expect_out " + m[1] + " "
					if m[2] != "" {
						want = "expect_exit " + m[2] + " "
					}
					if !strings.HasPrefix(found, want) {
						t.Errorf("%s states %q for\n  %s\nbut %s does not check it (want a line starting %q):\n  %s", tc.doc, comment, cmd, tc.script, want, found)
					}
				}
			}
		})
	}
}

// curlCommand is a curl invocation with a URL, up to the end of its line.
var curlCommand = regexp.MustCompile(`curl\s[^\n]*://[^\n]*`)

var curlData = regexp.MustCompile(`\s(-d|--data|--data-binary|--data-raw)\s`)

// docFiles are the files whose commands a newcomer copies.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md"}
	for _, pattern := range []string{"docs/*.md", "deploy/*", "deploy/*/*", "examples/*/*", "examples/*/*/*", "internal/catalog/controls/*.yaml"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && !strings.HasSuffix(p, ".go") {
				rel, _ := filepath.Rel(root, p)
				files = append(files, rel)
			}
		}
	}
	return files
}

// TestCurlExamplesWorkAsWritten: every documented curl command that posts a
// body names a Content-Type ingestd accepts (curl's default,
// application/x-www-form-urlencoded, gets 415), and every one that speaks
// HTTPS to the example gateways verifies it with --cacert. The docs, the
// example files, deploy/, the catalog's remediation text (docs/controls.md
// comes from it) and the --help text of both programs are read.
func TestCurlExamplesWorkAsWritten(t *testing.T) {
	bin := binaries(t)
	texts := map[string]string{}
	for _, f := range docFiles(t) {
		texts[f] = readFile(t, f)
	}
	for _, prog := range [][]string{{"ingestd", "--help"}, {"hardgate", "--help"}, {"hardgate", "audit", "--help"}} {
		out, _ := runCmd(t, 30*time.Second, t.TempDir(), envWith(bin), filepath.Join(bin, prog[0]), prog[1:]...)
		texts[strings.Join(prog, " ")] = out
	}
	checked := 0
	for name, text := range texts {
		for _, line := range strings.Split(strings.ReplaceAll(text, "\\\n", " "), "\n") {
			cmd := curlCommand.FindString(line)
			if cmd == "" {
				continue
			}
			checked++
			if strings.Contains(line, "415") {
				continue // shows the refusal on purpose
			}
			if curlData.MatchString(cmd) && !regexp.MustCompile(`(?i)content-type: ?application/(json|x-ndjson)`).MatchString(cmd) {
				t.Errorf("%s: curl posts a body without -H 'Content-Type: application/json' (ingestd answers 415):\n  %s", name, cmd)
			}
			if strings.Contains(cmd, "https://127.0.0.1") && !strings.Contains(cmd, "--cacert") {
				t.Errorf("%s: curl to the example's self-signed HTTPS gateway without --cacert:\n  %s", name, cmd)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("found only %d curl commands: the scan is broken", checked)
	}
}

// pathWord is a word that may be a path.
var pathWord = regexp.MustCompile(`[\w./-]+`)

// tokensFileMentions returns the paths in line that name a tokens file:
// a path element "tokens" or "tokens.<ext>" in a word that is a path (has
// a slash or an extension), not the folder tokens.d.
func tokensFileMentions(line string) []string {
	var out []string
	for _, w := range pathWord.FindAllString(line, -1) {
		w = strings.TrimRight(w, ".")
		for _, e := range strings.Split(w, "/") {
			if e == "tokens.d" || (e != "tokens" && !strings.HasPrefix(e, "tokens.")) {
				continue
			}
			if e == "tokens" && !strings.Contains(w, "/") {
				continue // the word "tokens"
			}
			out = append(out, w)
		}
	}
	return out
}

// deployTokensFile is where deploy/ keeps the tokens file: in a folder of
// its own that the ingestd user may write, since "ingestd token add"
// replaces the file by a rename in its folder.
const deployTokensFile = "/etc/ingestd/tokens.d/tokens.yaml"

// TestTokensFileHasOneName: docs, examples, deploy/ and the catalog's
// remediation text call the tokens file tokens.yaml, the name hardgate demo
// writes, in every path they give it, and every absolute path is deploy/'s.
func TestTokensFileHasOneName(t *testing.T) {
	seen := 0
	for _, f := range append(docFiles(t), "internal/demo/demo.go") {
		for i, line := range strings.Split(readFile(t, f), "\n") {
			for _, m := range tokensFileMentions(line) {
				seen++
				if base := filepath.Base(m); base != "tokens.yaml" && base != "tokens.yaml.lock" && base != "tokens.yaml.used" {
					t.Errorf("%s:%d names the tokens file %q; call it tokens.yaml", f, i+1, m)
				}
				if strings.HasPrefix(m, "/") && m != deployTokensFile {
					t.Errorf("%s:%d puts the tokens file at %s; deploy/ puts it at %s", f, i+1, m, deployTokensFile)
				}
			}
		}
	}
	if seen < 5 {
		t.Fatalf("found only %d mentions of the tokens file: the scan is broken", seen)
	}
}

// mdLink is a relative markdown link target; mdName a bare DOC.md name
// (README.md, DESIGN.md), not an output file such as delta.md.
var (
	mdLink = regexp.MustCompile(`\]\(([^)#:]+)(#[^)]*)?\)`)
	mdName = regexp.MustCompile("(?:^|[\\s(`])([A-Z][A-Z_-]*\\.md)\\b")
)

// TestDocsPointOnlyAtFilesInTheRepository: a link or a named .md file in
// the README, docs/ or an example README exists in the repository.
func TestDocsPointOnlyAtFilesInTheRepository(t *testing.T) {
	for _, f := range docFiles(t) {
		if !strings.HasSuffix(f, ".md") {
			continue
		}
		text := readFile(t, f)
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			if _, err := os.Stat(filepath.Join(root, filepath.Dir(f), m[1])); err != nil {
				t.Errorf("%s links to %s, which is not in the repository", f, m[1])
			}
		}
		for _, m := range mdName.FindAllStringSubmatch(text, -1) {
			if !existsInRepo(t, filepath.Dir(f), m[1]) {
				t.Errorf("%s names %s, which is not in the repository", f, m[1])
			}
		}
	}
}

func existsInRepo(t *testing.T, dir, name string) bool {
	t.Helper()
	for _, p := range []string{filepath.Join(root, dir, name), filepath.Join(root, name), filepath.Join(root, "docs", filepath.Base(name))} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}
