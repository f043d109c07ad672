package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The ingestd package's maintainer scripts (deploy/debian), run with stub
// commands in a sandbox: system paths in the script are rewritten into a
// temporary folder, so the test never touches the machine.

func deployFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestMaintainerScriptsAreValidShell(t *testing.T) {
	for _, s := range []string{"preinst", "postinst", "prerm", "postrm"} {
		t.Run(s, func(t *testing.T) {
			path := filepath.Join("..", "..", "deploy", "debian", "ingestd."+s)
			if out, err := exec.Command("sh", "-n", path).CombinedOutput(); err != nil {
				t.Fatalf("sh -n: %v\n%s", err, out)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm()&0o111 == 0 {
				t.Errorf("not executable: %v", err)
			}
		})
	}
}

// TestPreinstUserIsTheSysusersUser: the user preinst creates with useradd
// is the one /usr/lib/sysusers.d/ingestd.conf declares.
func TestPreinstUserIsTheSysusersUser(t *testing.T) {
	var line string
	for _, l := range strings.Split(deployFile(t, "debian/ingestd.sysusers"), "\n") {
		if strings.HasPrefix(l, "u ") {
			line = l
		}
	}
	m := regexp.MustCompile(`^u (\S+) - "([^"]+)" (\S+) (\S+)$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("sysusers line %q", line)
	}
	pre := strings.Join(strings.Fields(strings.ReplaceAll(deployFile(t, "debian/ingestd.preinst"), "\\\n", " ")), " ")
	for _, want := range []string{
		"groupadd --system " + m[1],
		"--home-dir " + m[3], "--shell " + m[4], `--comment "` + m[2] + `"`, "--gid " + m[1] + " ",
	} {
		if !strings.Contains(pre, want) {
			t.Errorf("preinst lacks %q", want)
		}
	}
}

// sandbox prepares a maintainer script to run with stubs: it returns the
// script path, the stub folder and the log the stubs append to.
func sandbox(t *testing.T, script string, systemd bool, checkExit string) (string, []string, string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	log := filepath.Join(dir, "log")
	os.MkdirAll(bin, 0o755)
	stub := func(name, body string) {
		os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\necho \""+name+" $*\" >>"+log+"\n"+body), 0o755)
	}
	stub("runuser", "echo 'ingestd check-config: tls.cert_file: no such file' >&2\nexit "+checkExit+"\n")
	stub("deb-systemd-helper", "exit 0\n")
	stub("deb-systemd-invoke", "exit 0\n")
	stub("systemctl", "exit 0\n")
	run := filepath.Join(dir, "run-systemd")
	if systemd {
		os.MkdirAll(run, 0o755)
	}
	s := deployFile(t, "debian/ingestd."+script)
	s = strings.ReplaceAll(s, "/run/systemd/system", run)
	s = strings.ReplaceAll(s, "/usr/bin/deb-systemd-helper", filepath.Join(bin, "deb-systemd-helper"))
	for _, p := range []string{"/var/lib/ingestd", "/etc/ingestd"} {
		s = strings.ReplaceAll(s, p, filepath.Join(dir, "root", p))
	}
	path := filepath.Join(dir, script)
	os.WriteFile(path, []byte(s), 0o755)
	return path, []string{"PATH=" + bin + ":/usr/bin:/bin"}, log
}

func runScript(t *testing.T, path string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("sh", append([]string{path}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(path), args, err, out)
	}
	return string(out)
}

func TestPostinstStartsOnlyAValidConfig(t *testing.T) {
	tests := []struct {
		name        string
		arg         string
		systemd     bool
		checkExit   string
		wantOut     []string
		wantCalls   []string
		forbidCalls []string
	}{
		{"an incomplete config is enabled but not started, and the problems are shown", "configure", true, "2",
			[]string{"not started", "tls.cert_file: no such file", "systemctl start ingestd"},
			[]string{"deb-systemd-helper enable ingestd.service", "runuser -u ingestd -- /usr/bin/ingestd check-config --config "},
			[]string{"deb-systemd-invoke"}},
		{"a valid config is started", "configure", true, "0",
			[]string{"is valid: starting ingestd.service"},
			[]string{"systemctl --system daemon-reload", "deb-systemd-invoke restart ingestd.service"}, nil},
		{"without systemd nothing is started", "configure", false, "0",
			[]string{"systemd is not running"}, nil, []string{"deb-systemd-invoke", "systemctl"}},
		{"abort-upgrade does nothing", "abort-upgrade", true, "0",
			nil, nil, []string{"runuser", "deb-systemd-invoke", "deb-systemd-helper"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, env, log := sandbox(t, "postinst", tt.systemd, tt.checkExit)
			out := runScript(t, path, env, tt.arg)
			calls, _ := os.ReadFile(log)
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.wantCalls {
				if !strings.Contains(string(calls), w) {
					t.Errorf("no call %q; calls:\n%s", w, calls)
				}
			}
			for _, f := range tt.forbidCalls {
				if strings.Contains(string(calls), f) {
					t.Errorf("called %q; calls:\n%s", f, calls)
				}
			}
		})
	}
}

func TestPostrmPurgeDeletesDataAndRemoveKeepsIt(t *testing.T) {
	for _, tt := range []struct {
		arg  string
		kept bool
	}{{"remove", true}, {"purge", false}} {
		t.Run(tt.arg, func(t *testing.T) {
			path, env, log := sandbox(t, "postrm", true, "0")
			root := filepath.Join(filepath.Dir(path), "root")
			files := []string{"var/lib/ingestd/queue.sqlite", "etc/ingestd/tokens.d/tokens.yaml", "etc/ingestd/tls/gateway-key.pem", "etc/ingestd/upstream.env"}
			for _, f := range files {
				os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o700)
				os.WriteFile(filepath.Join(root, f), []byte("x"), 0o600)
			}
			runScript(t, path, env, tt.arg)
			for _, f := range files {
				if _, err := os.Stat(filepath.Join(root, f)); (err == nil) != tt.kept {
					t.Errorf("%s: exists %v, want %v", f, err == nil, tt.kept)
				}
			}
			if _, err := os.Stat(filepath.Join(root, "etc/ingestd")); (err == nil) != tt.kept {
				t.Errorf("/etc/ingestd: exists %v, want %v", err == nil, tt.kept)
			}
			calls, _ := os.ReadFile(log)
			want := map[string]string{"remove": "deb-systemd-helper mask ingestd.service", "purge": "deb-systemd-helper purge ingestd.service"}[tt.arg]
			if !strings.Contains(string(calls), want) {
				t.Errorf("no call %q; calls:\n%s", want, calls)
			}
		})
	}
}
