package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/rs/zerolog"
)

func TestWriteChecksums(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "b.deb"), []byte("b"), 0o644)
	os.WriteFile(filepath.Join(dir, "a-linux-amd64"), []byte("a"), 0o755)
	os.WriteFile(filepath.Join(dir, ".hidden"), []byte("x"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	names, err := writeChecksums(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names, " "); got != "SHA256SUMS a-linux-amd64 b.deb" {
		t.Errorf("names %q", got)
	}
	sums, _ := os.ReadFile(filepath.Join(dir, checksumsFile))
	want := "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb  a-linux-amd64\n" +
		"3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d  b.deb\n"
	if string(sums) != want {
		t.Errorf("SHA256SUMS:\n%s\nwant:\n%s", sums, want)
	}
	if _, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command("sha256sum", "--check", "--strict", checksumsFile)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum --check: %v\n%s", err, out)
		}
	}
}

func TestCheckReplaceable(t *testing.T) {
	base := t.TempDir()
	release := filepath.Join(base, "release")
	os.Mkdir(release, 0o755)
	os.WriteFile(filepath.Join(release, checksumsFile), nil, 0o644)
	other := filepath.Join(base, "other")
	os.Mkdir(other, 0o755)
	os.WriteFile(filepath.Join(other, "notes.txt"), nil, 0o644)
	empty := filepath.Join(base, "empty")
	os.Mkdir(empty, 0o755)
	tests := []struct {
		name, dir string
		ok        bool
	}{
		{"a missing folder is replaceable", filepath.Join(base, "nope"), true},
		{"an empty folder is replaceable", empty, true},
		{"a previous release is replaceable", release, true},
		{"any other folder is refused", other, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkReplaceable(tt.dir); (err == nil) != tt.ok {
				t.Errorf("err %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestDebianCopyright(t *testing.T) {
	license, err := os.ReadFile(filepath.Join("..", "..", "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := debianCopyright(string(license))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Files: *\nCopyright: 2026 The hardgate authors\nLicense: MIT\n Permission is hereby granted", "\n .\n THE SOFTWARE IS PROVIDED"} {
		if !strings.Contains(got, want) {
			t.Errorf("copyright lacks %q:\n%s", want, got)
		}
	}
	if _, err := debianCopyright("Apache License\n"); err == nil {
		t.Error("a license that is not MIT is accepted")
	}
}

func TestBuildEnvPinsWhatChangesTheBinary(t *testing.T) {
	base := []string{"HOME=/root", "GOOS=darwin", "GOARCH=386", "GOAMD64=v3", "CGO_ENABLED=1", "GOEXPERIMENT=foo",
		"GOFLAGS=-race -mod=mod -tags=x -buildvcs=true"}
	env := strings.Join(buildEnv(base, targets[2]), " ")
	for _, want := range []string{"HOME=/root", "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm", "GOARM=7", "GOAMD64=v1", "GOARM64=v8.0", "GOFLAGS=-mod=mod"} {
		if !strings.Contains(" "+env+" ", " "+want+" ") {
			t.Errorf("env lacks %s: %s", want, env)
		}
	}
	for _, bad := range []string{"darwin", "386", "GOAMD64=v3", "CGO_ENABLED=1", "GOEXPERIMENT", "-race", "-tags", "-buildvcs"} {
		if strings.Contains(env, bad) {
			t.Errorf("env keeps %s: %s", bad, env)
		}
	}
	if env := strings.Join(buildEnv(nil, targets[0]), " "); !strings.Contains(env, "GOFLAGS=-mod=readonly") || strings.Contains(env, "GOARM=") {
		t.Errorf("amd64 env %s", env)
	}
}

// TestStampedBinary builds ingestd for this machine the way the release
// does, and checks that "ingestd version" prints the stamped version,
// commit and date, and that its SBOM is complete and reproducible.
func TestStampedBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ingestd")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	st := stamp{Version: "v9.8.7-rc.1", Commit: "0123456789abcdef0123456789abcdef01234567", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	// plan9 matches no release target, so hostBinary builds afresh.
	bin, err := hostBinary(context.Background(), root, "ingestd", t.TempDir(), t.TempDir(), st, "plan9", runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "ingestd v9.8.7-rc.1 (commit 0123456789ab, 2026-01-02T03:04:05Z, "
	if !strings.HasPrefix(string(out), want) {
		t.Errorf("ingestd version = %q, want prefix %q", out, want)
	}

	modCache, err := goEnv(context.Background(), root, "GOMODCACHE")
	if err != nil {
		t.Fatal(err)
	}
	sw := newSBOMWriter(root, modCache, st, zerolog.Nop())
	a, err := sw.write(bin)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newSBOMWriter(root, modCache, st, zerolog.Nop()).write(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two SBOMs of one binary differ")
	}
	var bom cdx.BOM
	if err := json.Unmarshal(a, &bom); err != nil {
		t.Fatal(err)
	}
	main := bom.Metadata.Component
	if bom.SpecVersion != cdx.SpecVersion1_6 || bom.Metadata.Timestamp != "2026-01-02T03:04:05Z" || !strings.HasPrefix(bom.SerialNumber, "urn:uuid:") {
		t.Errorf("spec %v, timestamp %q, serial %q", bom.SpecVersion, bom.Metadata.Timestamp, bom.SerialNumber)
	}
	if main.Name != "github.com/hardgate/hardgate" || main.Version != st.Version || licenseOf(main) != "MIT" {
		t.Errorf("main component %s %s license %q", main.Name, main.Version, licenseOf(main))
	}
	found := map[string]string{}
	for _, c := range *bom.Components {
		found[c.Name] = licenseOf(&c)
	}
	for mod, lic := range map[string]string{"modernc.org/sqlite": "Apache-2.0", "golang.org/x/crypto": "", "std": ""} {
		got, ok := found[mod]
		if !ok || (lic != "" && got != lic) {
			t.Errorf("component %s: present %v, license %q, want %q", mod, ok, got, lic)
		}
	}
	sum, _ := fileSHA256(bin)
	if !bytes.Contains(a, []byte(sum)) {
		t.Error("the SBOM does not name the binary's SHA-256")
	}
}

func licenseOf(c *cdx.Component) string {
	if c.Evidence == nil || c.Evidence.Licenses == nil || len(*c.Evidence.Licenses) == 0 {
		return ""
	}
	return (*c.Evidence.Licenses)[0].License.ID
}
