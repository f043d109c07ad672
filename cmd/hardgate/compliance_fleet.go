package main

import (
	"bytes"
	"fmt"
	"io"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/compliance"
	"github.com/hardgate/hardgate/internal/result"
)

// renderFleetFile writes the compliance view of a fleet when path is a
// fleet summary (fleet.json): per provision, how many gateways are in each
// state, from every result the summary links (gateways without a result,
// whose audit could not run, are not counted). handled is false when path
// is not a fleet summary.
func (c *complianceFlags) renderFleetFile(path string) (data []byte, handled bool, err error) {
	isFleet, err := isFleetSummary(path)
	if err != nil || !isFleet {
		return nil, false, nil // readResult reports an unreadable file
	}
	sum, err := readFleetSummary(path)
	if err != nil {
		return nil, true, err
	}
	var results []*result.Result
	for _, t := range sum.Targets {
		if t.ResultPath == "" {
			continue
		}
		p, err := fleetResultPath(path, t)
		if err != nil {
			return nil, true, err
		}
		res, err := readResult(p)
		if err != nil {
			return nil, true, fmt.Errorf("fleet gateway %s: %w", t.Name, err)
		}
		results = append(results, res)
	}
	cat, err := loadCatalog(c.controlsDir)
	if err != nil {
		return nil, true, err
	}
	fw, err := catalog.FrameworkByID(c.framework)
	if err != nil {
		return nil, true, fmt.Errorf("--framework: %w", err)
	}
	var buf bytes.Buffer
	if err := compliance.RenderFleet(&buf, compliance.BuildFleet(results, cat, fw), c.format); err != nil {
		return nil, true, err
	}
	return buf.Bytes(), true, nil
}

// emitReport writes a rendered report (or reports err) and returns the
// report command's exit code.
func emitReport(stdout, stderr io.Writer, out string, data []byte, err error) int {
	if err == nil {
		err = emitRendered(stdout, out, data)
	}
	if err != nil {
		fmt.Fprintf(stderr, "hardgate report: %v\n", err)
		return exitUsage
	}
	return exitOK
}
