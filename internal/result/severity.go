package result

import (
	"slices"
	"strings"
)

// Severities, most severe first.
var Severities = []string{"critical", "high", "medium", "low", "info"}

// SeverityRank orders severities, most severe first (critical is 0); an
// unknown severity ranks after every known one, so it never sorts above a
// real finding nor counts as critical or high.
func SeverityRank(sev string) int {
	if i := slices.Index(Severities, strings.ToLower(sev)); i >= 0 {
		return i
	}
	return len(Severities)
}

// ControlDoc is the reference text of a control, as the catalog holds it,
// for renderers that describe every control, not only the failed ones.
type ControlDoc struct {
	Risk         string
	Remediation  Remediation
	Verification Verification
	References   References
}
