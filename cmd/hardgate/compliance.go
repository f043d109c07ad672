package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/compliance"
	"github.com/hardgate/hardgate/internal/result"
)

// formatCompliance is the report format of a compliance view.
const formatCompliance = "compliance"

// complianceFlags are the report flags of a compliance view.
type complianceFlags struct {
	framework, format, controlsDir string
}

// formatFromOut picks the view's format from the --out file's extension
// when --compliance-format was not given: .html or .htm is html, .json is
// json, anything else (stdout included) md.
func (c *complianceFlags) formatFromOut(out string, explicit bool) {
	if explicit {
		return
	}
	switch strings.ToLower(filepath.Ext(out)) {
	case ".html", ".htm":
		c.format = "html"
	case ".json":
		c.format = "json"
	default:
		c.format = "md"
	}
}

// check validates the compliance flags against the report --format.
func (c *complianceFlags) check(reportFormat string) error {
	if reportFormat != formatCompliance {
		if c.framework != "" {
			return fmt.Errorf("--framework needs --format %s", formatCompliance)
		}
		return nil
	}
	if c.framework == "" {
		return fmt.Errorf("--format %s needs --framework: one of %s", formatCompliance, strings.Join(catalog.FrameworkIDs(), ", "))
	}
	if _, err := catalog.FrameworkByID(c.framework); err != nil {
		return fmt.Errorf("--framework: %w", err)
	}
	if !slices.Contains(compliance.Formats, c.format) {
		return fmt.Errorf("--compliance-format %q: must be one of %s", c.format, strings.Join(compliance.Formats, ", "))
	}
	return nil
}

// render writes the compliance view of res.
func (c *complianceFlags) render(res *result.Result) ([]byte, error) {
	cat, err := loadCatalog(c.controlsDir)
	if err != nil {
		return nil, err
	}
	fw, err := catalog.FrameworkByID(c.framework)
	if err != nil {
		return nil, fmt.Errorf("--framework: %w", err)
	}
	var buf bytes.Buffer
	if err := compliance.Render(&buf, compliance.Build(res, cat, fw), c.format); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
