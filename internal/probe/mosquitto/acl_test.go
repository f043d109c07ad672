package mosquitto

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/interop"
	"github.com/hardgate/hardgate/internal/probe/mosquitto/mosquittotest"
)

func TestParseACL(t *testing.T) {
	text := "# Who may read and write what.\n" +
		"topic read $SYS/#\n" +
		"\n" +
		"   \n" +
		"topic public/#\n" +
		"user   alice  \n" +
		"topic readwrite alice/#\r\n" +
		"topic   deny   alice/secret  \n" +
		"topic write a topic with spaces\n" +
		"pattern read devices/%u/#\n" +
		"user bob smith\n" +
		"topic read\n" +
		"pattern write $SYS/broker/connection/%c/state\n" +
		"user alice\n" +
		"topic read +/status\n"
	a, err := ParseACL(strings.NewReader(text), "acl")
	if err != nil {
		t.Fatal(err)
	}
	want := []ACLRule{
		{File: "acl", Line: 2, User: "", Access: AccessRead, Filter: "$SYS/#"},
		{File: "acl", Line: 5, User: "", Access: AccessReadWrite, Filter: "public/#"},
		{File: "acl", Line: 7, User: "alice", Access: AccessReadWrite, Filter: "alice/#"},
		{File: "acl", Line: 8, User: "alice", Access: AccessDeny, Filter: "alice/secret"},
		{File: "acl", Line: 9, User: "alice", Access: AccessWrite, Filter: "a topic with spaces"},
		{File: "acl", Line: 10, Pattern: true, User: "alice", Access: AccessRead, Filter: "devices/%u/#"},
		// "topic read" alone names the topic "read", with read and write access, as Mosquitto reads it.
		{File: "acl", Line: 12, User: "bob smith", Access: AccessReadWrite, Filter: "read"},
		{File: "acl", Line: 13, Pattern: true, User: "bob smith", Access: AccessWrite, Filter: "$SYS/broker/connection/%c/state"},
		{File: "acl", Line: 15, User: "alice", Access: AccessRead, Filter: "+/status"},
	}
	if !slices.Equal(a.Rules, want) {
		t.Errorf("rules:\n got %+v\nwant %+v", a.Rules, want)
	}
	if !slices.Equal(a.Users, []string{"alice", "bob smith"}) {
		t.Errorf("users = %q", a.Users)
	}
	if len(a.SHA256) != 64 || a.File != "acl" {
		t.Errorf("file %q, digest %q", a.File, a.SHA256)
	}
	if got := a.Rules[2].String(); got != "acl:7: topic readwrite alice/#" {
		t.Errorf("String() = %q", got)
	}
	t.Run("Debian's Mosquitto loads the same file", func(t *testing.T) {
		b := mosquittotest.New(t, func(port int, dir string) string {
			return "listener " + strconv.Itoa(port) + " 127.0.0.1\nacl_file " + filepath.Join(dir, "acl") + "\n"
		})
		b.WriteFile("acl", text)
		b.Start() // fails the test if mosquitto refuses the file
	})
}

func TestParseACLRefusesWhatMosquittoRefuses(t *testing.T) {
	tests := []struct {
		name string
		text string
		line int
		want string
	}{
		{"an unknown keyword", "topic read a\nsubscribe #\n", 2, `unknown keyword "subscribe"`},
		{"an access word Mosquitto does not know", "topic readonly #\n", 1, `access "readonly"`},
		{"a topic with spaces and no access word", "\n\ntopic a b\n", 3, `access "a"`},
		{"a topic line without a topic", "topic\n", 1, "empty topic"},
		{"a pattern line without a topic", "pattern   \n", 1, "empty topic"},
		{"a user line without a name", "topic a\nuser\n", 2, "user needs a user name"},
		{"a user line with only blanks after it", "user \t \n", 1, "user needs a user name"},
		{"a wildcard that is not a whole level", "topic read sensors/temp#\n", 1, "a wildcard must be a whole level"},
		{"a plus inside a level", "pattern read a/b+/c\n", 1, "a wildcard must be a whole level"},
		{"a # that is not the last level", "topic read #/a\n", 1, `"#" must be the last level`},
		{"a comment that does not start in the first column", "topic a\n  # indented comment\n", 2, "first column"},
		{"words separated by a tab", "topic\tread #\n", 1, "not tabs"},
		{"a NUL byte", "topic a\x00b\n", 1, "NUL byte"},
		{"a filter deeper than Mosquitto's 200 levels", "topic read " + strings.Repeat("a/", 201) + "a\n", 1, "more than 200 levels"},
		{"a file larger than the cap", strings.Repeat("# padding\n", MaxFileBytes/10+1), 0, "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseACL(strings.NewReader(tc.text), "acl")
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if tc.line > 0 && (!errors.Is(err, ErrACLSyntax) || !strings.Contains(err.Error(), "acl:"+strconv.Itoa(tc.line)+":")) {
				t.Errorf("error %q is not an ErrACLSyntax at line %d", err, tc.line)
			}
		})
	}
}

// Interop: Debian's Mosquitto refuses to start on every file the parser
// refuses (the file cap aside, which is the parser's own).
func TestMosquittoRefusesTheSameACLFiles(t *testing.T) {
	bin := interop.Binary(t, "mosquitto", "mosquitto")
	for _, text := range []string{
		"subscribe #\n", "topic readonly #\n", "topic a b\n", "topic\n", "user\n",
		"topic read sensors/temp#\n", "topic read #/a\n", "  # indented\n", "topic\tread #\n",
	} {
		t.Run(strconv.Quote(text), func(t *testing.T) {
			if _, err := ParseACL(strings.NewReader(text), "acl"); err == nil {
				t.Fatalf("the parser accepts %q", text)
			}
			dir := t.TempDir()
			acl := filepath.Join(dir, "acl")
			conf := "listener " + strconv.Itoa(mosquittotest.FreePort(t)) + " 127.0.0.1\nacl_file " + acl + "\n"
			if os.Geteuid() == 0 {
				conf = "user root\n" + conf
			}
			if err := os.WriteFile(acl, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "mosquitto.conf"), []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, "-c", filepath.Join(dir, "mosquitto.conf"))
			done := make(chan []byte, 1)
			go func() { out, _ := cmd.CombinedOutput(); done <- out }()
			select {
			case out := <-done:
				if cmd.ProcessState.ExitCode() == 0 || !strings.Contains(string(out), "in acl_file") {
					t.Errorf("mosquitto exited %d without an error in the acl_file:\n%s", cmd.ProcessState.ExitCode(), out)
				}
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Errorf("mosquitto started with an acl_file the parser refuses: %q", text)
			}
		})
	}
}

func TestLoadACLReadsOnlyRegularFiles(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "acl")
	if err := os.WriteFile(regular, []byte("user alice\ntopic read alice/#\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(regular, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("a regular file, directly or through a symlink, is read", func(t *testing.T) {
		for _, p := range []string{regular, link} {
			a, err := LoadACL(p)
			if err != nil || len(a.Rules) != 1 || a.File != p {
				t.Errorf("LoadACL(%s) = %+v, %v", p, a, err)
			}
		}
	})
	for _, tc := range []struct{ name, path string }{
		{"a FIFO is refused at once, without waiting for a writer", fifo},
		{"a directory is refused", dir},
		{"a character device is refused", os.DevNull},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { _, err := LoadACL(tc.path); done <- err }()
			select {
			case err := <-done:
				if !errors.Is(err, ErrNotRegular) {
					t.Errorf("error %v, want ErrNotRegular", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("LoadACL blocked")
			}
		})
	}
	t.Run("a missing file is an error", func(t *testing.T) {
		if _, err := LoadACL(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("error %v, want not exist", err)
		}
	})
}

func TestFilterCovers(t *testing.T) {
	tests := []struct {
		outer, inner string
		want         bool
	}{
		{"#", "#", true},
		{"#", "a/b", true},
		{"#", "+/#", true},
		{"+/#", "#", true},
		{"#", "$SYS/#", false},
		{"+/#", "$SYS/broker", false},
		{"$SYS/#", "$SYS/broker/load", true},
		{"a/#", "a", true},
		{"a/#", "a/+/c", true},
		{"a/+", "a/#", false},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/b", "a/+", false},
		{"a/b", "a/b", true},
		{"a/+/#", "a", false},
		{"a/+/#", "a/b", true},
		{"+", "+", true},
		{"+", "a/b", false},
		{"%c/#", "%c/x", true},
		{"alice/#", "%u/#", false},
	}
	for _, tc := range tests {
		if got := FilterCovers(tc.outer, tc.inner); got != tc.want {
			t.Errorf("FilterCovers(%q, %q) = %v, want %v", tc.outer, tc.inner, got, tc.want)
		}
	}
}

func TestReadGrants(t *testing.T) {
	text := "topic read public/#\n" +
		"topic deny public/secret\n" +
		"pattern read devices/%c/#\n" +
		"pattern read users/%u/#\n" +
		"pattern deny +/%u/private\n" +
		"user alice\n" +
		"topic read #\n" +
		"user bob\n" +
		"topic deny #\n" +
		"topic write #\n" +
		"user carol\n" +
		"topic read #\n" +
		"topic deny +/#\n"
	a, err := ParseACL(strings.NewReader(text), "acl")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		p     Principal
		lines []int
	}{
		{"an anonymous client gets the general section and the patterns without %u", Principal{Anonymous: true}, []int{1, 3}},
		{"alice gets her block, then the patterns with %u replaced", Principal{Username: "alice"}, []int{7, 3, 4}},
		{"a user without a block gets the patterns only", Principal{}, []int{3, 4}},
		{"bob's deny # refuses every grant after it, patterns included", Principal{Username: "bob"}, nil},
		{"carol's deny +/# covers her read # (Mosquitto checks denies first)", Principal{Username: "carol"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var lines []int
			for _, r := range a.ReadGrants(tc.p) {
				lines = append(lines, r.Line)
			}
			if !slices.Equal(lines, tc.lines) {
				t.Errorf("grant lines %v, want %v", lines, tc.lines)
			}
		})
	}
	if g := a.ReadGrants(Principal{Username: "alice"}); g[2].Filter != "users/alice/#" {
		t.Errorf("%%u not replaced for alice: %q", g[2].Filter)
	}
}

func FuzzParseACL(f *testing.F) {
	f.Add("topic read $SYS/#\nuser roger\ntopic foo/bar\npattern write $SYS/broker/connection/%c/state\n")
	f.Add("# c\n\ntopic deny a/+/#\nuser  x y \ntopic readwrite  spaced topic \r\n")
	f.Add("pattern read %u/#\nuser\n")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseACL(strings.NewReader(s), "fuzz.acl")
		if err != nil {
			if !errors.Is(err, ErrACLSyntax) && !strings.Contains(err.Error(), "larger than") {
				t.Fatalf("error without the syntax sentinel: %v", err)
			}
			return
		}
		lines := strings.Count(s, "\n") + 1
		for _, r := range a.Rules {
			if r.Line < 1 || r.Line > lines || r.File != "fuzz.acl" || r.Filter == "" || checkFilter(r.Filter) != nil {
				t.Fatalf("bad rule %+v", r)
			}
			if !FilterCovers(r.Filter, r.Filter) {
				t.Fatalf("filter %q does not cover itself", r.Filter)
			}
		}
		for _, p := range []Principal{{Anonymous: true}, {}, {Username: "alice"}} {
			for _, g := range a.ReadGrants(p) {
				if !g.Access.Reads() {
					t.Fatalf("grant %+v does not read", g)
				}
			}
		}
	})
}
