package examples_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// session is a "$ command" line and the output the document shows for it.
type session struct {
	cmd, out string
}

// parseSession reads a shell session: lines starting "$ " are commands,
// the lines up to the next command their output (blank lines around it
// trimmed).
func parseSession(block string) []session {
	var s []session
	for _, line := range strings.Split(block, "\n") {
		if cmd, ok := strings.CutPrefix(line, "$ "); ok {
			s = append(s, session{cmd: cmd})
			continue
		}
		if len(s) > 0 {
			s[len(s)-1].out += line + "\n"
		}
	}
	for i := range s {
		s[i].out = strings.Trim(s[i].out, "\n")
	}
	return s
}

var (
	auditID   = regexp.MustCompile(`hg-[0-9a-f]{16}`)
	auditTime = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ`)
)

// TestHistoryDocIsRealOutput runs the worked-example session of
// docs/history.md in an empty folder and compares each command's output
// with the document's, times aside. The run's audit ids are mapped to the
// document's in the order they first appear, so the rows must come in the
// document's order and a later command can name an id the document shows.
func TestHistoryDocIsRealOutput(t *testing.T) {
	bin := binaries(t)
	doc := readFile(t, "docs/history.md")
	_, rest, ok := strings.Cut(doc, "## The worked example")
	if !ok {
		t.Fatal(`docs/history.md has no "## The worked example" section`)
	}
	_, rest, _ = strings.Cut(rest, "```\n")
	block, _, ok := strings.Cut(rest, "```\n")
	if !ok {
		t.Fatal("docs/history.md: the worked example has no code block")
	}
	steps := parseSession(block)
	if len(steps) < 4 {
		t.Fatalf("the session has %d commands, want the demo, add, list, trend and show", len(steps))
	}
	dir := t.TempDir()
	ids := map[string]string{} // document id → this run's id
	for _, st := range steps {
		cmd := auditID.ReplaceAllStringFunc(st.cmd, func(id string) string {
			if real, ok := ids[id]; ok {
				return real
			}
			t.Fatalf("%q names %s before any output showed it", st.cmd, id)
			return id
		})
		if sub, ok := strings.CutPrefix(cmd, "cd "); ok {
			dir = filepath.Join(dir, sub)
			continue
		}
		out, code := runCmd(t, 60*time.Second, dir, envWith(bin), "bash", "-c", cmd)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", st.cmd, code, out)
		}
		out = strings.Trim(out, "\n")
		docIDs, runIDs := auditID.FindAllString(st.out, -1), auditID.FindAllString(out, -1)
		for i := 0; i < len(docIDs) && i < len(runIDs); i++ {
			if _, seen := ids[docIDs[i]]; !seen {
				ids[docIDs[i]] = runIDs[i]
			}
		}
		got := out
		for docID, runID := range ids {
			got = strings.ReplaceAll(got, runID, docID)
		}
		want, got := auditTime.ReplaceAllString(st.out, "TIME"), auditTime.ReplaceAllString(got, "TIME")
		if got != want {
			t.Errorf("docs/history.md shows for %q:\n%s\nthe command printed (ids and times normalised):\n%s", st.cmd, want, got)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "baseline.json")); err != nil || fi.Size() == 0 {
		t.Errorf("history show wrote no baseline.json: %v", err)
	}
}
