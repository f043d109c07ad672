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
	waivers       string
	waiverMaxDays int
}

// catalogAndWaivers loads the catalog the audit judges with and the
// waivers file it applies (nil without --waivers), checked against that
// catalog at now, so that a bad file is a usage error before any probe runs.
func (j *judgeFlags) catalogAndWaivers(now time.Time) (*catalog.Catalog, *waiver.Set, error) {
	cat, err := catalog.Load()
	if err == nil {
		err = controls.CheckRegistry(cat)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("catalog: %w", err)
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

// applyWaivers applies the waivers (if any) to res at now.
func applyWaivers(res *result.Result, set *waiver.Set, now time.Time) {
	if set != nil {
		waiver.Apply(res, set, now)
	}
}
