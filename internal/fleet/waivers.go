package fleet

import (
	"maps"
	"slices"
	"time"

	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/waiver"
)

// judge gives res the fleet target's labels (so that waivers select by
// label as well as by name) and applies the runner's waivers at now. It
// returns what the waivers did (nil without waivers).
func (r *Runner) judge(res *result.Result, labels map[string]string, now time.Time) waiver.Outcome {
	if len(labels) > 0 {
		if res.Target.Labels == nil {
			res.Target.Labels = map[string]string{}
		}
		maps.Copy(res.Target.Labels, labels)
	}
	if r.Waivers == nil {
		return nil
	}
	return waiver.Apply(res, r.Waivers, now)
}

// fleetWaivers reports the waivers once for the whole fleet: every
// expired one with the targets it selects, and every unexpired one that
// waived nothing on any target (stale across the fleet).
func fleetWaivers(set *waiver.Set, outcomes []Outcome, now time.Time) *result.FleetWaivers {
	fw := &result.FleetWaivers{Count: set.Len(), Expired: []result.FleetExpiredWaiver{}, Stale: []result.Waiver{}}
	uses := make([]waiver.Outcome, 0, len(outcomes))
	for i := range outcomes {
		fw.Waived += outcomes[i].Row.Waived
		if outcomes[i].Waivers != nil {
			uses = append(uses, outcomes[i].Waivers)
		}
	}
	for i, w := range set.Waivers() {
		if !set.ExpiredAt(i, now) {
			continue
		}
		e := result.FleetExpiredWaiver{Waiver: w.Waiver, Targets: []string{}}
		for _, o := range outcomes {
			if o.Waivers != nil && o.Waivers[i].Selected {
				e.Targets = append(e.Targets, o.Target.Target.Name)
			}
		}
		slices.Sort(e.Targets)
		fw.Expired = append(fw.Expired, e)
	}
	for _, w := range set.Unused(uses...) {
		if d, err := waiver.ParseDate(w.Expires); err == nil && d.ExpiredAt(now) {
			continue // reported as expired
		}
		fw.Stale = append(fw.Stale, w)
	}
	return fw
}
