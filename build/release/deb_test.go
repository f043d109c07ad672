package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// arMembers reads the members of an ar archive (a .deb).
func arMembers(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	if !bytes.HasPrefix(data, []byte("!<arch>\n")) {
		t.Fatal("not an ar archive")
	}
	out := map[string][]byte{}
	var order []string
	for p := 8; p < len(data); {
		h := data[p : p+60]
		name := strings.TrimSuffix(strings.TrimSpace(string(h[0:16])), "/")
		size, err := strconv.Atoi(strings.TrimSpace(string(h[48:58])))
		if err != nil {
			t.Fatalf("member %q size: %v", name, err)
		}
		if mtime := strings.TrimSpace(string(h[16:28])); mtime != "1767323045" {
			t.Errorf("ar member %s has mtime %s", name, mtime)
		}
		out[name] = data[p+60 : p+60+size]
		order = append(order, name)
		p += 60 + size + size%2
	}
	if got := strings.Join(order, " "); got != "debian-binary control.tar.gz data.tar.gz" {
		t.Errorf("members %q", got)
	}
	return out
}

type tarEntry struct {
	hdr  *tar.Header
	body string
}

func tarGz(t *testing.T, data []byte) map[string]tarEntry {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string]tarEntry{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[strings.TrimPrefix(h.Name, ".")] = tarEntry{h, string(b)}
	}
}

// fakeInputs are package inputs with small stand-ins for the generated
// files, and the repository's real deploy/ files.
func fakeInputs(t *testing.T) inputs {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dist, work := t.TempDir(), t.TempDir()
	write := func(dir, name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	in := inputs{root: root, dist: dist, man: map[string][]string{}, completion: map[string]string{},
		copyright: write(work, "copyright", "Format: test\n")}
	for _, p := range programs {
		for _, tg := range targets {
			write(dist, binaryName(p, tg), "#!/bin/sh\necho "+p+" "+tg.Name+"\n")
			write(dist, binaryName(p, tg)+".cdx.json", "{}\n")
		}
		in.completion[p] = write(work, p+".bash", "complete -F _"+p+" "+p+"\n")
	}
	in.man["hardgate"] = []string{write(work, "hardgate.1.gz", "gz"), write(work, "hardgate-audit.1.gz", "gz")}
	in.man["ingestd"] = []string{write(work, "ingestd.8.gz", "gz")}
	return in
}

var testMTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestPackages(t *testing.T) {
	in := fakeInputs(t)
	armhf := targets[2]
	out := t.TempDir()
	pkgs := map[string]map[string]tarEntry{}
	controls := map[string]map[string]tarEntry{}
	for _, p := range packages(in, armhf) {
		name, err := writeDeb(p, armhf, "1.2.3~rc.1", testMTime, out)
		if err != nil {
			t.Fatal(err)
		}
		if want := p.Name + "_1.2.3~rc.1_armhf.deb"; name != want {
			t.Errorf("file %q, want %q", name, want)
		}
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		m := arMembers(t, data)
		pkgs[p.Name] = tarGz(t, m["data.tar.gz"])
		controls[p.Name] = tarGz(t, m["control.tar.gz"])
	}

	t.Run("every entry carries the release time", func(t *testing.T) {
		for pkg, entries := range pkgs {
			for name, e := range entries {
				if !e.hdr.ModTime.Equal(testMTime) {
					t.Errorf("%s %s: mtime %v", pkg, name, e.hdr.ModTime)
				}
			}
		}
	})
	want := []struct {
		pkg, path    string
		mode         int64
		owner, group string
	}{
		{"hardgate", "/usr/bin/hardgate", 0o755, "root", "root"},
		{"hardgate", "/usr/share/man/man1/hardgate-audit.1.gz", 0o644, "root", "root"},
		{"hardgate", "/usr/share/bash-completion/completions/hardgate", 0o644, "root", "root"},
		{"hardgate", "/usr/share/doc/hardgate/copyright", 0o644, "root", "root"},
		{"hardgate", "/usr/share/doc/hardgate/sbom.cdx.json", 0o644, "root", "root"},
		{"ingestd", "/usr/bin/ingestd", 0o755, "root", "root"},
		{"ingestd", "/usr/share/man/man8/ingestd.8.gz", 0o644, "root", "root"},
		{"ingestd", "/usr/lib/systemd/system/ingestd.service", 0o644, "root", "root"},
		{"ingestd", "/usr/lib/sysusers.d/ingestd.conf", 0o644, "root", "root"},
		{"ingestd", "/etc/ingestd/", 0o750, "root", "ingestd"},
		{"ingestd", "/etc/ingestd/ingestd.yaml", 0o640, "root", "ingestd"},
		{"ingestd", "/etc/ingestd/tls/", 0o750, "root", "ingestd"},
		{"ingestd", "/etc/ingestd/tokens.d/", 0o700, "ingestd", "ingestd"},
		{"ingestd", "/var/lib/ingestd/", 0o700, "ingestd", "ingestd"},
		{"ingestd", "/usr/share/doc/ingestd/README.md", 0o644, "root", "root"},
	}
	for _, w := range want {
		t.Run(fmt.Sprintf("%s ships %s %04o %s:%s", w.pkg, w.path, w.mode, w.owner, w.group), func(t *testing.T) {
			e, ok := pkgs[w.pkg][w.path]
			if !ok {
				t.Fatalf("missing; have %v", keys(pkgs[w.pkg]))
			}
			if e.hdr.Mode != w.mode || e.hdr.Uname != w.owner || e.hdr.Gname != w.group {
				t.Errorf("%04o %s:%s", e.hdr.Mode, e.hdr.Uname, e.hdr.Gname)
			}
		})
	}
	t.Run("the binary is the target's", func(t *testing.T) {
		if got := pkgs["ingestd"]["/usr/bin/ingestd"].body; got != "#!/bin/sh\necho ingestd armv7\n" {
			t.Errorf("%q", got)
		}
	})
	t.Run("the Pi sample is the conffile", func(t *testing.T) {
		sample, _ := os.ReadFile(filepath.Join(in.root, "deploy", "raspberry-pi", "ingestd.yaml"))
		if pkgs["ingestd"]["/etc/ingestd/ingestd.yaml"].body != string(sample) {
			t.Error("ingestd.yaml is not deploy/raspberry-pi/ingestd.yaml")
		}
		if got := controls["ingestd"]["/conffiles"].body; got != "/etc/ingestd/ingestd.yaml\n" {
			t.Errorf("conffiles %q", got)
		}
		if _, ok := controls["hardgate"]["/conffiles"]; ok {
			t.Error("hardgate has conffiles")
		}
	})
	t.Run("ingestd has its maintainer scripts, hardgate none", func(t *testing.T) {
		for _, s := range []string{"preinst", "postinst", "prerm", "postrm"} {
			e, ok := controls["ingestd"]["/"+s]
			if !ok || e.hdr.Mode != 0o755 || !strings.HasPrefix(e.body, "#!/bin/sh\n") {
				t.Errorf("ingestd %s: present %v", s, ok)
			}
			if _, ok := controls["hardgate"]["/"+s]; ok {
				t.Errorf("hardgate has a %s", s)
			}
		}
	})
	t.Run("control fields", func(t *testing.T) {
		c := controls["ingestd"]["/control"].body
		for _, f := range []string{"Package: ingestd\n", "Version: 1.2.3~rc.1\n", "Architecture: armhf\n", "Pre-Depends: passwd\n",
			"Section: net\n", "Priority: optional\n", "Homepage: " + homepage + "\n", "Maintainer: " + maintainer + "\n"} {
			if !strings.Contains(c, f) {
				t.Errorf("control lacks %q:\n%s", f, c)
			}
		}
	})
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestDebsAreByteIdentical(t *testing.T) {
	in := fakeInputs(t)
	a, b := t.TempDir(), t.TempDir()
	for _, tg := range targets {
		for _, p := range packages(in, tg) {
			na, err := writeDeb(p, tg, "1.2.3", testMTime, a)
			if err != nil {
				t.Fatal(err)
			}
			// The second build sees newer file times, as a rebuild does.
			later := time.Now().Add(time.Hour)
			for _, f := range p.Files {
				if f.Src != "" {
					os.Chtimes(f.Src, later, later)
				}
			}
			nb, err := writeDeb(p, tg, "1.2.3", testMTime, b)
			if err != nil {
				t.Fatal(err)
			}
			da, _ := os.ReadFile(filepath.Join(a, na))
			db, _ := os.ReadFile(filepath.Join(b, nb))
			if na != nb || !bytes.Equal(da, db) {
				t.Errorf("%s for %s: two builds differ", p.Name, tg.Deb)
			}
		}
	}
}
