package result

import (
	"slices"
	"strings"
)

// Domains is the closed list of control domains in display order: the one
// order in which the summary, every report and the demo list domains.
var Domains = []string{
	"Identity & Cryptography",
	"Access Control",
	"Data Protection",
	"Network Exposure",
	"Availability & Monitoring",
}

// CompareDomains orders two domain names as Domains lists them; a name
// outside the list follows every known one, by name.
func CompareDomains(a, b string) int {
	ra, rb := domainRank(a), domainRank(b)
	if ra != rb {
		return ra - rb
	}
	return strings.Compare(a, b)
}

func domainRank(name string) int {
	if i := slices.Index(Domains, name); i >= 0 {
		return i
	}
	return len(Domains)
}
