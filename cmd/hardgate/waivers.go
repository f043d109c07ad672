package main

import (
	"fmt"
	"time"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/controls"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/waiver"
)

// judgeFlags are the flags that change what an audit judges with: the
// user's own controls and the accepted risks.
type judgeFlags struct {
	controlsDir   string
	waivers       string
	waiverMaxDays int
}

// controlsDirUsage is the help text of --controls-dir, shared by the commands.
const controlsDirUsage = "add the user's own controls from every *.yaml file of `DIR` (config guardrails with ids under custom.; see docs/controls.md)"

// catalogAndWaivers loads the catalog the audit judges with and the
// waivers file it applies (nil without --waivers), checked against that
// catalog at now, so that a bad file is a usage error before any probe runs.
func (j *judgeFlags) catalogAndWaivers(now time.Time) (*catalog.Catalog, *waiver.Set, error) {
	cat, err := loadCatalog(j.controlsDir)
	if err != nil {
		return nil, nil, err
	}
	if j.waivers == "" {
		return cat, nil, nil
	}
	if j.waiverMaxDays <= 0 {
		return nil, nil, fmt.Errorf("--waiver-max-days %d: must be positive", j.waiverMaxDays)
	}
	set, err := waiver.Load(j.waivers, cat, waiver.Options{Now: now, MaxAhead: time.Duration(j.waiverMaxDays) * 24 * time.Hour})
	if err != nil {
		return nil, nil, fmt.Errorf("--waivers: %w", err)
	}
	return cat, set, nil
}

// loadCatalog loads the embedded catalog with the controls of dir (none
// when dir is empty) and checks it against the evaluation registry.
func loadCatalog(dir string) (*catalog.Catalog, error) {
	cat, err := catalog.LoadWithCustom(dir)
	if err == nil {
		err = controls.CheckRegistry(cat)
	}
	if err != nil {
		if dir != "" {
			return nil, fmt.Errorf("--controls-dir: %w", err)
		}
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return cat, nil
}

// applyWaivers applies the waivers (if any) to res at now.
func applyWaivers(res *result.Result, set *waiver.Set, now time.Time) {
	if set != nil {
		waiver.Apply(res, set, now)
	}
}
