package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/hardgate/hardgate/internal/result"
)

// declareJudgeFlags declares --controls-dir, --waivers and
// --waiver-max-days for a fleet audit, with the same meaning as on a
// single audit.
func (j *judgeFlags) declareJudgeFlags(fs *flag.FlagSet) {
	fs.StringVar(&j.controlsDir, "controls-dir", "", controlsDirUsage)
	fs.StringVar(&j.waivers, "waivers", "", "accept known risks listed in this waivers `FILE` (YAML, see docs/waivers.md) on every gateway: targets and labels select gateways by their fleet name and labels")
	fs.IntVar(&j.waiverMaxDays, "waiver-max-days", 365, "with --waivers: refuse an expiry date more than this many `days` ahead")
}

// printFleetWaivers tells on stderr what the waivers did across the fleet:
// expired waivers (ignored) and stale ones (matched nothing anywhere).
func printFleetWaivers(stderr io.Writer, fw *result.FleetWaivers) {
	if fw == nil {
		return
	}
	for _, e := range fw.Expired {
		fmt.Fprintf(stderr, "hardgate audit: waiver for %s expired on %s, ignored (selects %d gateway(s)): %s\n",
			e.Waiver.Control, e.Waiver.Expires, len(e.Targets), e.Waiver.Justification)
	}
	for _, w := range fw.Stale {
		fmt.Fprintf(stderr, "hardgate audit: stale waiver for %s (expires %s) matched no failed control on any gateway: %s\n",
			w.Control, w.Expires, w.Justification)
	}
}
