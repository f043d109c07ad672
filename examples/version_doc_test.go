package examples_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/version"
)

var postureSample = regexp.MustCompile("(?s)```json\n(\\{\"service\":\"ingestd\".*?)```")

// TestVersionsAgreeAcrossBinariesAndDocs: hardgate and ingestd, built as
// the README builds them, print one version; the posture sample of
// docs/ingestd.md shows the version of a build that carries none, which is
// what internal/version (and so both binaries) reports for it.
func TestVersionsAgreeAcrossBinariesAndDocs(t *testing.T) {
	m := postureSample.FindStringSubmatch(readFile(t, "docs/ingestd.md"))
	if m == nil {
		t.Fatal("docs/ingestd.md has no posture sample")
	}
	var posture struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal([]byte(m[1]), &posture); err != nil {
		t.Fatalf("the posture sample is not JSON: %v", err)
	}
	if posture.Version != version.Devel {
		t.Errorf("posture sample version = %q, want %q (internal/version's version of a build without one)", posture.Version, version.Devel)
	}
	bin := binaries(t)
	var versions []string
	for _, prog := range []string{"hardgate", "ingestd"} {
		out, err := exec.Command(filepath.Join(bin, prog), "version").Output()
		if err != nil {
			t.Fatalf("%s version: %v", prog, err)
		}
		f := strings.Fields(string(out))
		if len(f) < 2 || f[0] != prog {
			t.Fatalf("%s version printed %q", prog, out)
		}
		versions = append(versions, f[1])
	}
	if versions[0] != versions[1] {
		t.Errorf("hardgate prints version %q, ingestd %q: one build, one version", versions[0], versions[1])
	}
}
