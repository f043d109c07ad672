package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/rs/zerolog"
)

// checksumsFile lists the SHA-256 of every other file of a release.
const checksumsFile = "SHA256SUMS"

// manual says how a program's man pages are made.
type manual struct {
	section int
	split   bool
	extra   []extraSection
}

var manuals = map[string]manual{
	"hardgate": {section: 1, split: true},
	"ingestd": {section: 8, extra: []extraSection{{Title: "Files", Items: [][2]string{
		{"/etc/ingestd/ingestd.yaml", "The configuration (a conffile of the ingestd package): HTTPS on 127.0.0.1:8443 with bearer tokens."},
		{"/etc/ingestd/tls/", "The TLS certificate and key the configuration names; the key owned by ingestd, mode 0600."},
		{"/etc/ingestd/tokens.d/tokens.yaml", "Salted token hashes, written by \"ingestd token add\" (owner ingestd, mode 0600)."},
		{"/var/lib/ingestd/", "The durable queue (owner ingestd, mode 0700)."},
		{"/usr/share/doc/ingestd/README.md", "First start on a Raspberry Pi: certificate, first token, systemctl start ingestd."},
	}}}},
}

// build makes the release in dist and returns its file names, sorted. It
// works in a staging folder beside dist and replaces dist only when every
// file is made.
func build(ctx context.Context, root, dist string, st stamp, log io.Writer) ([]string, error) {
	debVer, err := debVersion(st.Version)
	if err != nil {
		return nil, err
	}
	if err := checkReplaceable(dist); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dist), 0o755); err != nil {
		return nil, err
	}
	stage, err := os.MkdirTemp(filepath.Dir(dist), ".release-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	work, err := os.MkdirTemp("", "hardgate-release-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	for _, t := range targets {
		for _, p := range programs {
			fmt.Fprintf(log, "go build %s linux/%s\n", p, t.Name)
			if err := compile(ctx, root, p, t, st, filepath.Join(stage, binaryName(p, t))); err != nil {
				return nil, err
			}
		}
	}
	logger := zerolog.New(zerolog.ConsoleWriter{Out: log, NoColor: true}).Level(zerolog.ErrorLevel)
	modCache, err := goEnv(ctx, root, "GOMODCACHE")
	if err != nil {
		return nil, err
	}
	sw := newSBOMWriter(root, modCache, st, logger)
	for _, t := range targets {
		for _, p := range programs {
			bin := filepath.Join(stage, binaryName(p, t))
			fmt.Fprintf(log, "sbom %s\n", filepath.Base(bin))
			data, err := sw.write(bin)
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(bin+".cdx.json", data, 0o644); err != nil {
				return nil, err
			}
		}
	}
	in, err := docs(ctx, root, stage, work, st)
	if err != nil {
		return nil, err
	}
	for _, t := range targets {
		for _, p := range packages(in, t) {
			name, err := writeDeb(p, t, debVer, st.Time, stage)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(log, "deb %s\n", name)
		}
	}
	names, err := writeChecksums(stage)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(stage, 0o755); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(dist); err != nil {
		return nil, err
	}
	if err := os.Rename(stage, dist); err != nil {
		return nil, err
	}
	return names, nil
}

// checkReplaceable refuses to replace a folder that is not a previous
// release: it must be missing, empty, or hold a SHA256SUMS.
func checkReplaceable(dist string) error {
	entries, err := os.ReadDir(dist)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dist, checksumsFile)); err != nil {
		return fmt.Errorf("refusing to replace %s: it is not a previous release (no %s)", dist, checksumsFile)
	}
	return nil
}

// docs writes the man pages, bash completions and the Debian copyright
// file into work, from the programs' --help and the LICENSE.
func docs(ctx context.Context, root, dist, work string, st stamp) (inputs, error) {
	in := inputs{root: root, dist: dist, man: map[string][]string{}, completion: map[string]string{}}
	home := filepath.Join(work, "home")
	for _, dir := range []string{home, filepath.Join(work, "man"), filepath.Join(work, "completion")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return in, err
		}
	}
	for _, p := range programs {
		bin, err := hostBinary(ctx, root, p, dist, work, st, runtime.GOOS, runtime.GOARCH)
		if err != nil {
			return in, err
		}
		c, err := readCommands(ctx, p, execHelp(bin, home))
		if err != nil {
			return in, err
		}
		m := manuals[p]
		for _, page := range manPages(c, m.section, m.split, p+" "+st.Version, st.Time.UTC().Format("2006-01-02"), m.extra) {
			gz, err := gzipBytes([]byte(page.Roff))
			if err != nil {
				return in, err
			}
			path := filepath.Join(work, "man", page.File)
			if err := os.WriteFile(path, gz, 0o644); err != nil {
				return in, err
			}
			in.man[p] = append(in.man[p], path)
		}
		path := filepath.Join(work, "completion", p)
		if err := os.WriteFile(path, []byte(bashCompletion(c)), 0o644); err != nil {
			return in, err
		}
		in.completion[p] = path
	}
	license, err := os.ReadFile(filepath.Join(root, "LICENSE"))
	if err != nil {
		return in, err
	}
	copyright, err := debianCopyright(string(license))
	if err != nil {
		return in, err
	}
	in.copyright = filepath.Join(work, "copyright")
	return in, os.WriteFile(in.copyright, []byte(copyright), 0o644)
}

// debianCopyright renders the MIT LICENSE as a machine-readable Debian
// copyright file (https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/).
func debianCopyright(license string) (string, error) {
	lines := strings.Split(strings.ReplaceAll(license, "\r\n", "\n"), "\n")
	if strings.TrimSpace(lines[0]) != "MIT License" {
		return "", fmt.Errorf("LICENSE: want the MIT License, the copyright file says so")
	}
	holder, body := "", -1
	for i, l := range lines {
		if h, ok := strings.CutPrefix(strings.TrimSpace(l), "Copyright (c) "); ok {
			holder, body = h, i+1
			break
		}
	}
	if holder == "" {
		return "", fmt.Errorf("LICENSE: no \"Copyright (c) \" line")
	}
	var b strings.Builder
	b.WriteString("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n")
	b.WriteString("Upstream-Name: hardgate\nSource: " + homepage + "\n")
	b.WriteString("Comment: The binary is statically linked; the Go modules in it and their\n")
	b.WriteString(" licenses are listed in the SBOM beside this file (sbom.cdx.json).\n\n")
	b.WriteString("Files: *\nCopyright: " + holder + "\nLicense: MIT\n")
	for _, l := range strings.Split(strings.TrimSpace(strings.Join(lines[body:], "\n")), "\n") {
		if strings.TrimSpace(l) == "" {
			b.WriteString(" .\n")
		} else {
			b.WriteString(" " + l + "\n")
		}
	}
	return b.String(), nil
}

// writeChecksums writes SHA256SUMS over every file in dir, sorted by
// name, in the format "sha256sum -c" reads; it returns all the names.
func writeChecksums(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	var names []string
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") || e.Name() == checksumsFile {
			continue
		}
		sum, err := fileSHA256(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, e.Name())
		names = append(names, e.Name())
	}
	if err := os.WriteFile(filepath.Join(dir, checksumsFile), []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	names = append(names, checksumsFile)
	slices.Sort(names)
	return names, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}
