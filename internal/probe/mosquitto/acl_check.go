package mosquitto

import "strings"

// Principal is a client as Mosquitto's ACL check sees it.
type Principal struct {
	// Anonymous is a client without a user name: the general section of
	// the acl_file applies to it.
	Anonymous bool
	// Username is the client's user name; with Anonymous false, "" stands
	// for any user without a block of its own (only patterns apply).
	Username string
}

// ReadGrants returns the rules that let p read, in the order Mosquitto
// checks them (mosquitto_acl_check_default): the rules of p's own list
// (the general section for an anonymous client, the blocks of its user
// otherwise), then the patterns. A grant is left out when a "deny" rule
// Mosquitto checks before it refuses every topic it grants: the denies of
// p's list come before everything, the pattern denies before the pattern
// grants. A pattern's %u is replaced by p's user name when it is known; a
// pattern with %u does not apply to an anonymous client.
func (a *ACL) ReadGrants(p Principal) []ACLRule {
	var listDeny, patternDeny []string
	var list, patterns []ACLRule
	for _, r := range a.Rules {
		switch {
		case r.Pattern:
			if p.Anonymous && strings.Contains(r.Filter, "%u") {
				continue
			}
			if p.Username != "" {
				r.Filter = strings.ReplaceAll(r.Filter, "%u", p.Username)
			}
			if r.Access == AccessDeny {
				patternDeny = append(patternDeny, r.Filter)
			} else {
				patterns = append(patterns, r)
			}
		case p.owns(r):
			if r.Access == AccessDeny {
				listDeny = append(listDeny, r.Filter)
			} else {
				list = append(list, r)
			}
		}
	}
	var out []ACLRule
	for _, r := range list {
		if r.Access.Reads() && !coveredByAny(listDeny, r.Filter) {
			out = append(out, r)
		}
	}
	for _, r := range patterns {
		if r.Access.Reads() && !coveredByAny(listDeny, r.Filter) && !coveredByAny(patternDeny, r.Filter) {
			out = append(out, r)
		}
	}
	return out
}

// owns reports whether a "topic" rule is in p's list.
func (p Principal) owns(r ACLRule) bool {
	if p.Anonymous {
		return r.User == ""
	}
	return p.Username != "" && r.User == p.Username
}

func coveredByAny(outer []string, inner string) bool {
	for _, o := range outer {
		if FilterCovers(o, inner) {
			return true
		}
	}
	return false
}

// FilterCovers reports whether every topic that filter inner matches is
// also matched by filter outer, with MQTT's matching rules: "+" matches one
// level, "#" any number of levels including none ("a/#" matches "a"), and
// neither matches a first level that starts with "$". A %c or %u level is
// compared as written.
func FilterCovers(outer, inner string) bool {
	o, in := strings.Split(outer, "/"), strings.Split(inner, "/")
	for i := 0; ; i++ {
		if i == len(o) {
			return i == len(in)
		}
		sysLevel := i == 0 && i < len(in) && strings.HasPrefix(in[i], "$")
		if o[i] == "#" {
			return !sysLevel
		}
		if i == len(in) {
			return false
		}
		if in[i] == "#" {
			// inner matches any rest here; of the outer filters that do
			// not end in "#" at this level, only "+/#" from the first
			// level does too (every topic has a first level).
			return i == 0 && len(o) == 2 && o[0] == "+" && o[1] == "#"
		}
		switch {
		case o[i] == "+":
			if sysLevel {
				return false
			}
		case in[i] != o[i]:
			return false
		}
	}
}

// WildcardOnly reports whether every level of filter is "+" or "#": the
// filter names no topic, so it matches every topic of its depth ("#" and
// "+/#": every topic) whoever published it.
func WildcardOnly(filter string) bool {
	for _, l := range strings.Split(filter, "/") {
		if l != "+" && l != "#" {
			return false
		}
	}
	return true
}
