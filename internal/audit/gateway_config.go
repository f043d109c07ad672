package audit

import (
	"fmt"
	"strings"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/result"
)

// evalConfigRules judges a config guardrail from the rules its catalog entry
// carries: the control fails when every rule matches the effective config.
// Evidence is the file, line, key and value of each rule's setting.
func evalConfigRules(o *Observations, c *catalog.Control) Verdict {
	check := c.Config
	if check == nil {
		return Verdict{Status: result.StatusError, Reason: "catalog entry has no config rules"}
	}
	co := o.Config
	switch {
	case co == nil:
		return Verdict{Status: result.StatusNotApplicable, Reason: "no gateway config file was given"}
	case co.Kind != check.Kind:
		return Verdict{Status: result.StatusNotApplicable, Reason: fmt.Sprintf("the rules read %s configs; the gateway config is %s", check.Kind, co.Kind)}
	case co.Err != nil:
		return Verdict{Status: result.StatusError, Reason: "the gateway config could not be read: " + co.Err.Error()}
	}
	f := co.Ingestd
	var matched, unmatched []string
	var evidence []result.Evidence
	for i := range check.FailWhen {
		r := &check.FailWhen[i]
		value, _, ok := f.Setting(r.Key)
		if !ok {
			return Verdict{Status: result.StatusError, Reason: fmt.Sprintf("rule key %q is not an %s setting", r.Key, check.Kind)}
		}
		evidence = append(evidence, f.Evidence(r.Key))
		if r.Matches(value) {
			matched = append(matched, r.Describe())
		} else {
			unmatched = append(unmatched, "not ("+r.Describe()+")")
		}
	}
	if len(unmatched) == 0 {
		return Verdict{Status: result.StatusFail, Reason: "in " + f.Path + ": " + strings.Join(matched, " and "), Evidence: evidence}
	}
	return Verdict{Status: result.StatusPass, Reason: "in " + f.Path + ": " + strings.Join(unmatched, "; "), Evidence: evidence}
}
