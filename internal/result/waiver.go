package result

import "time"

// Waiver is an accepted risk as the waivers file states it: which control,
// on which targets, optionally only where the evidence contains Match, why,
// who owns it and until when.
type Waiver struct {
	Control string   `json:"control"`
	Targets []string `json:"targets,omitempty"`
	// Labels select targets by label; every label given must match.
	Labels map[string]string `json:"labels,omitempty"`
	// Match limits the waiver to findings whose evidence contains it.
	Match         string `json:"match,omitempty"`
	Justification string `json:"justification"`
	Owner         string `json:"owner"`
	// Expires is the last day (YYYY-MM-DD, UTC) the waiver applies.
	Expires string `json:"expires"`
}

// WaiverReport is what applying a waivers file to a result found, beyond
// the waived controls themselves.
type WaiverReport struct {
	// CheckedAt is the time the expiry dates were judged against.
	CheckedAt time.Time `json:"checked_at"`
	// Expired are waivers for this target whose last day has passed: they
	// were ignored, and what they covered counts again.
	Expired []Waiver `json:"expired"`
	// Stale are unexpired waivers for this target that matched no failed
	// control: the risk they accept is not there (fixed, or never was).
	Stale []Waiver `json:"stale"`
}

// WaiverCounts counts the waived findings of a result and the waivers for
// its target that expired or matched nothing.
type WaiverCounts struct {
	Waived  int `json:"waived"`
	Expired int `json:"expired"`
	Stale   int `json:"stale"`
}
