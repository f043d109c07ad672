package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"minus signs become \\-, so flags copy and paste", "--format md", `\-\-format md`},
		{"a backslash is printed, not interpreted", `a \ b`, `a \e b`},
		{"a leading dot is not a request", ".hidden file", `\&.hidden file`},
		{"a leading quote is not a request", "'quoted'", `\&'quoted'`},
		{"a dot inside a line stays", "see a.json", "see a.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := escape(tt.in); got != tt.want {
				t.Errorf("escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestExpandTabs(t *testing.T) {
	if got := expandTabs("  -v\tlog"); got != "  -v    log" {
		t.Errorf("%q", got)
	}
	if got := expandTabs("    \tdesc"); got != "        desc" {
		t.Errorf("%q", got)
	}
}

func TestManPages(t *testing.T) {
	hg, err := readCommands(context.Background(), "hardgate", fakeRunner("hardgate"))
	if err != nil {
		t.Fatal(err)
	}
	pages := manPages(hg, 1, true, "hardgate v1.2.3", "2026-01-02", nil)
	var files []string
	for _, p := range pages {
		files = append(files, p.File)
	}
	if got, want := strings.Join(files, " "), "hardgate.1.gz hardgate-audit.1.gz hardgate-history.1.gz"; got != want {
		t.Fatalf("split pages %q, want %q", got, want)
	}
	for _, want := range []string{
		`.TH "HARDGATE" 1 "2026\-01\-02" "hardgate v1.2.3"`,
		".SH NAME\nhardgate \\- proves things\n",
		"  hardgate audit \\-\\-url https://127.0.0.1:8443/v1/ingest\n",
		".BR hardgate\\-audit (1),\n.BR hardgate\\-history (1)\n",
	} {
		if !strings.Contains(pages[0].Roff, want) {
			t.Errorf("hardgate.1 lacks %q:\n%s", want, pages[0].Roff)
		}
	}
	if !strings.Contains(pages[2].Roff, ".SS \"hardgate history add\"\n") || !strings.Contains(pages[2].Roff, "hardgate\\-history \\- keep results over time\n") {
		t.Errorf("hardgate-history.1:\n%s", pages[2].Roff)
	}

	in, err := readCommands(context.Background(), "ingestd", fakeRunner("ingestd"))
	if err != nil {
		t.Fatal(err)
	}
	one := manPages(in, 8, false, "ingestd v1.2.3", "2026-01-02", []extraSection{{Title: "Files", Items: [][2]string{{"/etc/ingestd/ingestd.yaml", "The config."}}}})
	if len(one) != 1 || one[0].File != "ingestd.8.gz" {
		t.Fatalf("one page wanted, got %d", len(one))
	}
	r := one[0].Roff
	for _, want := range []string{".SH NAME\ningestd \\- hardened gateway\n", ".SS \"ingestd token\"\n", ".SH \"FILES\"\n.TP\n.B /etc/ingestd/ingestd.yaml\nThe config.\n"} {
		if !strings.Contains(r, want) {
			t.Errorf("ingestd.8 lacks %q:\n%s", want, r)
		}
	}
	if strings.Count(r, ".SS \"ingestd token add\"") != 0 {
		t.Errorf("a subcommand whose help repeats its parent's is printed twice:\n%s", r)
	}
	if groff, err := exec.LookPath("groff"); err == nil {
		for _, p := range append(pages, one...) {
			cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z")
			cmd.Stdin = strings.NewReader(p.Roff)
			if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
				t.Errorf("groff on %s: %v\n%s", p.File, err, out)
			}
		}
	}
}

func TestGzipBytesIsDeterministic(t *testing.T) {
	a, err := gzipBytes([]byte("hello\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := gzipBytes([]byte("hello\n"))
	if !bytes.Equal(a, b) {
		t.Fatal("two compressions differ")
	}
	if mtime := a[4:8]; !bytes.Equal(mtime, []byte{0, 0, 0, 0}) {
		t.Errorf("gzip header carries a time %x", mtime)
	}
	zr, err := gzip.NewReader(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := io.ReadAll(zr); string(data) != "hello\n" || zr.Name != "" {
		t.Errorf("round trip %q, name %q", data, zr.Name)
	}
}
