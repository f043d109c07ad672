package controls

import (
	"fmt"
	"strings"

	"github.com/hardgate/hardgate/internal/collect"
	"github.com/hardgate/hardgate/internal/probe/mosquitto"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/scoring"
)

// An acl_file is judged by who it lets read what: a listener fails when a
// rule lets a client anyone can be (an anonymous client, any authenticated
// client through a pattern, any user name when no password is checked) or
// the probe's own user read topics the control protects. A named acl_file
// is never a pass by itself: it must be read and parsed.

// aclPrincipal is a client an ACL is checked for, and how a reason names it.
type aclPrincipal struct {
	p   mosquitto.Principal
	who string
}

// aclPrincipals lists the clients of listener p whose rights decide: those
// anyone can be, and the probe's user.
func aclPrincipals(p mosquitto.Posture, a *mosquitto.ACL, probeUser string) []aclPrincipal {
	var out []aclPrincipal
	if p.AnonymousAllowed {
		out = append(out, aclPrincipal{mosquitto.Principal{Anonymous: true}, "anonymous clients"})
	}
	if p.Authenticates() {
		out = append(out, aclPrincipal{mosquitto.Principal{}, "every authenticated client"})
	}
	if probeUser != "" {
		out = append(out, aclPrincipal{mosquitto.Principal{Username: probeUser}, "user " + probeUser + " (the probe's user)"})
	}
	if p.AnonymousAllowed && !p.Authenticates() {
		// Mosquitto 2 then accepts any user name without a password, so
		// every user block is anyone's.
		for _, u := range a.Users {
			out = append(out, aclPrincipal{mosquitto.Principal{Username: u}, "user " + u + " (no password is checked: any client may claim the name)"})
		}
	}
	return out
}

// aclFinding is a rule through which a principal reads protected topics.
type aclFinding struct {
	rule mosquitto.ACLRule
	who  string
}

// aclFindings returns each rule that lets one of ps read a filter selects
// accepts, once, named for the first principal it serves.
func aclFindings(a *mosquitto.ACL, ps []aclPrincipal, selects func(filter string) bool) []aclFinding {
	var out []aclFinding
	seen := map[int]bool{}
	for _, pr := range ps {
		for _, r := range a.ReadGrants(pr.p) {
			if seen[r.Line] || !selects(r.Filter) {
				continue
			}
			seen[r.Line] = true
			out = append(out, aclFinding{r, pr.who})
		}
	}
	return out
}

// aclRuleEvidence cites one acl_file line.
func aclRuleEvidence(r mosquitto.ACLRule) result.Evidence {
	where := "general section, for clients without a user name"
	switch {
	case r.Pattern:
		where = "pattern: applies to every client"
	case r.User != "":
		where = "user " + r.User
	}
	return result.Evidence{Kind: "config", Summary: r.String() + " (" + where + ")",
		Config: &result.ConfigLine{File: r.File, Line: r.Line, Key: r.Keyword(), Value: r.Access.String() + " " + r.Filter}}
}

// judgeACL judges the acl_file listener p has in force: fail for each rule
// that lets a principal read what selects accepts (what names it for the
// reason), pass when none does, undecided when the file could not be read.
func judgeACL(t *scoring.Tally, co *collect.ConfigObservation, p mosquitto.Posture, probeUser, what string, selects func(string) bool) {
	ao := co.ACLFor(p.ACLFile)
	if ao == nil || ao.ACL == nil {
		err := fmt.Errorf("not read")
		if ao != nil {
			err = ao.Err
		}
		t.Undecide(fmt.Sprintf("%s: its acl_file %s could not be read: %v", listenerName(p), p.ACLFile.Path(), err), directiveEvidence(p.ACLFile, "acl_file"))
		return
	}
	ps := aclPrincipals(p, ao.ACL, probeUser)
	found := aclFindings(ao.ACL, ps, selects)
	for _, f := range found {
		t.Fail(fmt.Sprintf("%s: %s may read %s through %s", listenerName(p), f.who, what, f.rule), aclRuleEvidence(f.rule), directiveEvidence(p.ACLFile, "acl_file"))
	}
	if len(found) > 0 {
		return
	}
	whos := make([]string, len(ps))
	for i, pr := range ps {
		whos[i] = pr.who
	}
	if len(whos) == 0 {
		whos = []string{"no client"}
	}
	t.Pass(fmt.Sprintf("%s restricts topics with the acl_file %s: no rule lets %s read %s", listenerName(p), ao.Path, strings.Join(whos, ", "), what),
		directiveEvidence(p.ACLFile, "acl_file"))
}

// everyTopic selects a filter that names no topic ("#", "+/#", "+/+"):
// whoever may read it reads every client's messages at that depth.
func everyTopic(filter string) bool { return mosquitto.WildcardOnly(filter) }

// sysTopics selects a filter under $SYS that is the same for every client.
func sysTopics(filter string) bool {
	first, _, _ := strings.Cut(filter, "/")
	return first == "$SYS" && !strings.Contains(filter, "%c") && !strings.Contains(filter, "%u")
}

// probeUser is the user name the target gave the MQTT probe, "" without.
func probeUser(o *collect.Observations) string {
	if o.Target == nil {
		return ""
	}
	return o.Target.MQTT.Username
}
