package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hardgate/hardgate/internal/delta"
	"github.com/hardgate/hardgate/internal/fleet"
	"github.com/hardgate/hardgate/internal/result"
)

// isFleetSummary reports whether the file at path is a fleet summary
// (fleet.json) rather than a single result.
func isFleetSummary(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, result.MaxFleetBytes+1))
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return result.IsFleetDocument(bytes.TrimSpace(data)), nil
}

func readFleetSummary(path string) (*result.Fleet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sum, err := result.DecodeFleet(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sum, nil
}

// fleetResultPath is a target's result file, relative to its fleet.json's
// folder; a path that leaves that folder is refused.
func fleetResultPath(summaryPath string, t result.FleetTarget) (string, error) {
	rel := filepath.FromSlash(t.ResultPath)
	if rel == "" || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("%s: target %s: result_path %q is not a file inside the fleet folder", summaryPath, t.Name, t.ResultPath)
	}
	return filepath.Join(filepath.Dir(summaryPath), rel), nil
}

// expandFleetDirs replaces each folder among args by the result files its
// fleet.json names (every target with a result), so "history add DIR"
// stores a whole fleet audit in one transaction.
func expandFleetDirs(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil || !fi.IsDir() {
			out = append(out, a) // readResult reports a missing file
			continue
		}
		summary := filepath.Join(a, fleet.SummaryJSON)
		sum, err := readFleetSummary(summary)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("%s is a folder without %s (a fleet output folder of hardgate audit --fleet)", a, fleet.SummaryJSON)
			}
			return nil, err
		}
		for _, t := range sum.Targets {
			if t.ResultPath == "" {
				continue // error, cancelled or skipped: no result to keep
			}
			p, err := fleetResultPath(summary, t)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// runFleetDiff is "hardgate diff OLD/fleet.json NEW/fleet.json".
func runFleetDiff(stdout, stderr io.Writer, before, after, format, out, failOn string) int {
	b, err := readFleetSummary(before)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate diff: before: %v\n", err)
		return exitUsage
	}
	a, err := readFleetSummary(after)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate diff: after: %v\n", err)
		return exitUsage
	}
	paths := map[string]string{"before": before, "after": after}
	load := func(side string, t result.FleetTarget) (*result.Result, error) {
		p, err := fleetResultPath(paths[side], t)
		if err != nil {
			return nil, err
		}
		return readResult(p)
	}
	d, err := delta.CompareFleets(b, a, load)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate diff: %v\n", err)
		return exitUsage
	}
	var buf bytes.Buffer
	if err := delta.RenderFleet(&buf, d, format, delta.RenderOptions{Color: format == "text" && out == "" && isTerminal(stdout)}); err != nil {
		fmt.Fprintf(stderr, "hardgate diff: %v\n", err)
		return exitUsage
	}
	if err := emitRendered(stdout, out, buf.Bytes()); err != nil {
		fmt.Fprintf(stderr, "hardgate diff: %v\n", err)
		return exitUsage
	}
	failed, why, err := delta.GateFleet(d, failOn)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate diff: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "hardgate diff: %s\n", why)
	if failed {
		return exitFindings
	}
	return exitOK
}

// diffFleets routes "hardgate diff" to the fleet delta when both files are
// fleet summaries; handled is false for two results.
func diffFleets(stdout, stderr io.Writer, pos []string, format, out, failOn string) (code int, handled bool) {
	first, err1 := isFleetSummary(pos[0])
	second, err2 := isFleetSummary(pos[1])
	if err1 != nil || err2 != nil || (!first && !second) {
		return 0, false // readResult reports unreadable files as before
	}
	if first != second {
		fmt.Fprintf(stderr, "hardgate diff: %s and %s are not both fleet summaries (fleet.json) nor both results\n", pos[0], pos[1])
		return exitUsage, true
	}
	return runFleetDiff(stdout, stderr, pos[0], pos[1], format, out, failOn), true
}
