package controls

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/probe/ingestdconf"
)

// evaluationFor returns the evaluation of catalog control c: the one
// registered under its id or, for a control of the user's own
// (catalog.IsCustom, loaded with --controls-dir), the config rule engine,
// the only evaluation a custom control can have.
func evaluationFor(c *catalog.Control) (evaluation, bool) {
	if e, ok := registry[c.ID]; ok {
		return e, true
	}
	if catalog.IsCustom(c.ID) && c.Config != nil {
		return plain(evalConfigRules), true
	}
	return evaluation{}, false
}

// ingestdKeys are the setting keys of an ingestd config (the effective
// defaults, through the one config schema), read once.
var ingestdKeys = sync.OnceValues(func() ([]string, error) {
	f, err := ingestdconf.Parse(strings.NewReader(""))
	if err != nil {
		return nil, fmt.Errorf("ingestd defaults: %w", err)
	}
	return f.Keys(), nil
})

// checkRuleKeys reports every rule key of a config control that its
// config kind does not have, so a typo in a rule is a load error rather
// than an error status in every audit. Mosquitto has no closed list of
// directives, so its keys are not checked.
func checkRuleKeys(c *catalog.Control) []string {
	if c.Config == nil || c.Config.Kind != "ingestd" {
		return nil
	}
	keys, err := ingestdKeys()
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", c.ID, err)}
	}
	var problems []string
	for i, r := range c.Config.FailWhen {
		if !slices.Contains(keys, r.Key) {
			problems = append(problems, fmt.Sprintf("%s: config.fail_when[%d]: key %q is not an ingestd setting (known: %s)",
				c.ID, i, r.Key, strings.Join(keys, ", ")))
		}
	}
	return problems
}
