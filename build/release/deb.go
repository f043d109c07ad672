package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
)

const (
	homepage   = "https://github.com/hardgate/hardgate"
	maintainer = "The hardgate authors <maintainers@hardgate.invalid>"
)

// debFile is one entry of a package: a file from Src, or a directory.
type debFile struct {
	Src, Dst     string
	Mode         fs.FileMode
	Owner, Group string
	// Type is files.TypeFile (the default), files.TypeConfig or files.TypeDir.
	Type string
}

// debPackage is what one .deb holds.
type debPackage struct {
	Name, Section, Summary, Description string
	PreDepends                          []string
	Files                               []debFile
	Scripts                             nfpm.Scripts
}

// inputs are the files a target's packages are made of.
type inputs struct {
	root, dist string
	// man holds the man pages by program, completion the bash completion
	// scripts by program, copyright the Debian copyright file: all in work/.
	man        map[string][]string
	completion map[string]string
	copyright  string
}

func (in inputs) docFiles(prog string, t target) []debFile {
	out := []debFile{
		{Src: filepath.Join(in.dist, binaryName(prog, t)), Dst: "/usr/bin/" + prog, Mode: 0o755},
		{Src: in.completion[prog], Dst: "/usr/share/bash-completion/completions/" + prog, Mode: 0o644},
		{Src: in.copyright, Dst: "/usr/share/doc/" + prog + "/copyright", Mode: 0o644},
		{Src: filepath.Join(in.dist, binaryName(prog, t)+".cdx.json"), Dst: "/usr/share/doc/" + prog + "/sbom.cdx.json", Mode: 0o644},
	}
	for _, page := range in.man[prog] {
		base := filepath.Base(page)
		section := base[len(base)-4 : len(base)-3] // name.N.gz
		out = append(out, debFile{Src: page, Dst: "/usr/share/man/man" + section + "/" + base, Mode: 0o644})
	}
	return out
}

// packages are the two packages of a target.
func packages(in inputs, t target) []debPackage {
	deploy := func(rel string) string { return filepath.Join(in.root, "deploy", rel) }
	hardgate := debPackage{
		Name:    "hardgate",
		Section: "net",
		Summary: "prove, with evidence, whether an IoT gateway's telemetry path is safe",
		Description: `hardgate audits an IoT gateway's ingest path (HTTP and TLS, MQTT, its
config file), judges every control of its catalog with evidence, renders
reports (text, Markdown, HTML, SARIF, JUnit, CSV), compares two audits
and keeps their history. Static binary; the SBOM of this build is in
/usr/share/doc/hardgate/sbom.cdx.json.`,
		Files: in.docFiles("hardgate", t),
	}
	ingestd := debPackage{
		Name:    "ingestd",
		Section: "net",
		Summary: "hardened telemetry ingest gateway (HTTPS, device tokens, store-and-forward)",
		Description: `ingestd accepts telemetry from devices over HTTPS with bearer tokens,
fsyncs every accepted batch to a local queue before it answers, and
forwards the batches at least once to an HTTP, MQTT, NATS or file
upstream. It refuses unsafe settings unless each is allowed by name.
This package runs it as the system user ingestd under a hardened systemd
unit, with /etc/ingestd/ingestd.yaml (HTTPS on loopback) and the queue in
/var/lib/ingestd. Static binary; the SBOM of this build is in
/usr/share/doc/ingestd/sbom.cdx.json.`,
		PreDepends: []string{"passwd"},
		Files: append(in.docFiles("ingestd", t),
			debFile{Src: deploy("systemd/ingestd.service"), Dst: "/usr/lib/systemd/system/ingestd.service", Mode: 0o644},
			debFile{Src: deploy("debian/ingestd.sysusers"), Dst: "/usr/lib/sysusers.d/ingestd.conf", Mode: 0o644},
			debFile{Src: deploy("README.md"), Dst: "/usr/share/doc/ingestd/README.md", Mode: 0o644},
			debFile{Dst: "/etc/ingestd", Type: files.TypeDir, Mode: 0o750, Owner: "root", Group: "ingestd"},
			debFile{Src: deploy("raspberry-pi/ingestd.yaml"), Dst: "/etc/ingestd/ingestd.yaml", Type: files.TypeConfig,
				Mode: 0o640, Owner: "root", Group: "ingestd"},
			debFile{Dst: "/etc/ingestd/tls", Type: files.TypeDir, Mode: 0o750, Owner: "root", Group: "ingestd"},
			debFile{Dst: "/etc/ingestd/tokens.d", Type: files.TypeDir, Mode: 0o700, Owner: "ingestd", Group: "ingestd"},
			debFile{Dst: "/var/lib/ingestd", Type: files.TypeDir, Mode: 0o700, Owner: "ingestd", Group: "ingestd"},
		),
		Scripts: nfpm.Scripts{
			PreInstall:  deploy("debian/ingestd.preinst"),
			PostInstall: deploy("debian/ingestd.postinst"),
			PreRemove:   deploy("debian/ingestd.prerm"),
			PostRemove:  deploy("debian/ingestd.postrm"),
		},
	}
	return []debPackage{hardgate, ingestd}
}

// writeDeb builds p for t into dir and returns the file name. Every time
// in the archive (ar members, tar entries) is mtime.
func writeDeb(p debPackage, t target, version string, mtime time.Time, dir string) (string, error) {
	var contents files.Contents
	for _, f := range p.Files {
		typ := f.Type
		if typ == "" {
			typ = files.TypeFile
		}
		contents = append(contents, &files.Content{
			Source: f.Src, Destination: f.Dst, Type: typ,
			FileInfo: &files.ContentFileInfo{Mode: f.Mode, Owner: f.Owner, Group: f.Group, MTime: mtime},
		})
	}
	info := nfpm.WithDefaults(&nfpm.Info{
		Name: p.Name, Arch: t.Deb, Platform: "linux",
		Version: version, VersionSchema: "none",
		Section: p.Section, Priority: "optional", Maintainer: maintainer,
		Description: p.Summary + "\n" + p.Description,
		Vendor:      "hardgate", Homepage: homepage, License: "MIT",
		DisableGlobbing: true, MTime: mtime,
		Overridables: nfpm.Overridables{
			Contents: contents,
			Scripts:  p.Scripts,
			Deb:      nfpm.Deb{Predepends: p.PreDepends},
		},
	})
	pkgr, err := nfpm.Get("deb")
	if err != nil {
		return "", err
	}
	name := pkgr.ConventionalFileName(info)
	f, err := os.CreateTemp(dir, ".deb-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if err := pkgr.Package(info, f); err != nil {
		f.Close()
		return "", fmt.Errorf("package %s for %s: %w", p.Name, t.Deb, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		return "", err
	}
	return name, nil
}
