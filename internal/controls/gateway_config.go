package controls

import (
	"fmt"
	"strings"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/collect"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/scoring"
)

// evalConfigRules is the config rule engine: it judges a config guardrail
// from the rules its catalog entry carries, over any config kind through
// collect.Settings. The control fails when every rule matches the effective
// config. Evidence is the file, line, key and value of each rule's setting.
func evalConfigRules(o *collect.Observations, c *catalog.Control) scoring.Verdict {
	check := c.Config
	if check == nil {
		return scoring.Verdict{Status: result.StatusError, Reason: "catalog entry has no config rules"}
	}
	co := o.Config
	switch {
	case co == nil:
		return scoring.Verdict{Status: result.StatusNotApplicable, Reason: "no gateway config file was given"}
	case co.Kind != check.Kind:
		return scoring.Verdict{Status: result.StatusNotApplicable, Reason: fmt.Sprintf("the rules read %s configs; the gateway config is %s", check.Kind, co.Kind)}
	case co.Err != nil || co.Settings() == nil:
		return scoring.Verdict{Status: result.StatusError, Reason: fmt.Sprintf("the gateway config could not be read: %v", co.Err)}
	}
	f := co.Settings()
	var matched, unmatched []string
	var evidence []result.Evidence
	for i := range check.FailWhen {
		r := &check.FailWhen[i]
		value, _, ok := f.Setting(r.Key)
		if !ok {
			return scoring.Verdict{Status: result.StatusError, Reason: fmt.Sprintf("rule key %q is not an %s setting", r.Key, check.Kind)}
		}
		evidence = append(evidence, f.Evidence(r.Key))
		if r.Matches(value) {
			matched = append(matched, r.Describe())
		} else {
			unmatched = append(unmatched, "not ("+r.Describe()+")")
		}
	}
	if len(unmatched) == 0 {
		return scoring.Verdict{Status: result.StatusFail, Reason: "in " + co.Path + ": " + strings.Join(matched, " and "), Evidence: evidence}
	}
	return scoring.Verdict{Status: result.StatusPass, Reason: "in " + co.Path + ": " + strings.Join(unmatched, "; "), Evidence: evidence}
}
