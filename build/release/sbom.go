package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/CycloneDX/cyclonedx-gomod/pkg/generate/bin"
	"github.com/CycloneDX/cyclonedx-gomod/pkg/licensedetect"
	"github.com/CycloneDX/cyclonedx-gomod/pkg/licensedetect/local"
	"github.com/google/uuid"
	"github.com/rs/zerolog"
	"golang.org/x/mod/module"
)

// sbomToolModule is cyclonedx-gomod, whose linked version the SBOMs name.
const sbomToolModule = "github.com/CycloneDX/cyclonedx-gomod"

// serialNamespace derives each SBOM's serial number from the binary it
// describes, so the serial is unique per binary and the same in every
// rebuild of it.
var serialNamespace = uuid.MustParse("6f0cbbd5-0f8c-4a8e-9c1e-2f1f3e6a0d01")

// cachedDetector memoises license detection per module version: the six
// binaries share most of their modules.
type cachedDetector struct {
	inner licensedetect.Detector
	mu    sync.Mutex
	seen  map[string][]cdx.License
}

func (d *cachedDetector) Detect(path, version, dir string) ([]cdx.License, error) {
	key := path + "@" + version + " " + dir
	d.mu.Lock()
	defer d.mu.Unlock()
	if l, ok := d.seen[key]; ok {
		return l, nil
	}
	l, err := d.inner.Detect(path, version, dir)
	if err != nil {
		return nil, err
	}
	d.seen[key] = l
	return l, nil
}

// sbomWriter writes CycloneDX SBOMs of release binaries.
type sbomWriter struct {
	root     string
	modCache string
	stamp    stamp
	logger   zerolog.Logger
	licenses *cachedDetector
}

func newSBOMWriter(root, modCache string, st stamp, logger zerolog.Logger) *sbomWriter {
	return &sbomWriter{root: root, modCache: modCache, stamp: st, logger: logger,
		licenses: &cachedDetector{inner: local.NewDetector(logger), seen: map[string][]cdx.License{}}}
}

// write generates the SBOM of the binary at path: its modules (from the
// build information Go embeds), the standard library, the build settings,
// the binary's hashes, and each module's license as evidence, detected in
// the module cache (no download: the build just used these modules).
func (w *sbomWriter) write(path string) ([]byte, error) {
	gen, err := bin.NewGenerator(path,
		bin.WithLogger(w.logger),
		bin.WithIncludeStdlib(true),
		bin.WithVersionOverride(w.stamp.Version))
	if err != nil {
		return nil, fmt.Errorf("sbom of %s: %w", path, err)
	}
	bom, err := gen.Generate()
	if err != nil {
		return nil, fmt.Errorf("sbom of %s: %w", path, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	bom.SerialNumber = uuid.NewSHA1(serialNamespace, sum[:]).URN()
	bom.Metadata.Timestamp = w.stamp.Time.UTC().Format(time.RFC3339)
	bom.Metadata.Tools = &cdx.ToolsChoice{Components: &[]cdx.Component{{
		Type: cdx.ComponentTypeApplication, Group: "CycloneDX", Name: "cyclonedx-gomod",
		Version: moduleVersion(sbomToolModule),
	}}}
	// The main module: the commit the release stamped, and the license
	// of the work tree's LICENSE.
	if main := bom.Metadata.Component; main != nil {
		props := append(deref(main.Properties), cdx.Property{Name: "hardgate:build:commit", Value: w.stamp.Commit})
		main.Properties = &props
		w.addLicense(main, w.root)
	}
	if bom.Components != nil {
		for i := range *bom.Components {
			c := &(*bom.Components)[i]
			if dir, ok := w.moduleDir(c.Name, c.Version); ok {
				w.addLicense(c, dir)
			}
		}
	}
	var buf bytes.Buffer
	enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON).SetPretty(true)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		return nil, fmt.Errorf("encode sbom of %s: %w", path, err)
	}
	return buf.Bytes(), nil
}

// moduleDir is where the module cache holds path@version, if it does.
func (w *sbomWriter) moduleDir(path, version string) (string, bool) {
	if w.modCache == "" || path == "std" {
		return "", false
	}
	ep, err := module.EscapePath(path)
	if err != nil {
		return "", false
	}
	ev, err := module.EscapeVersion(version)
	if err != nil {
		return "", false
	}
	dir := filepath.Join(w.modCache, ep+"@"+ev)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", false
	}
	return dir, true
}

// addLicense records the license found in dir as the component's
// license evidence (as cyclonedx-gomod -licenses does): detected, not declared.
func (w *sbomWriter) addLicense(c *cdx.Component, dir string) {
	if c == nil {
		return
	}
	l, err := w.licenses.Detect(c.Name, c.Version, dir)
	if err != nil || len(l) == 0 {
		w.logger.Warn().Str("module", c.Name).Msg("no license detected")
		return
	}
	choices := make(cdx.Licenses, len(l))
	for i := range l {
		choices[i] = cdx.LicenseChoice{License: &l[i]}
	}
	c.Evidence = &cdx.Evidence{Licenses: &choices}
}

func deref(p *[]cdx.Property) []cdx.Property {
	if p == nil {
		return nil
	}
	return *p
}

// moduleVersion is the version of a module linked into this program.
func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == path {
				return m.Version
			}
		}
	}
	return "unknown"
}
