package mosquitto

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrACLSyntax marks an acl_file line Mosquitto would refuse to load.
var ErrACLSyntax = errors.New("mosquitto acl_file syntax error")

// maxTopicLevels is Mosquitto's TOPIC_HIERARCHY_LIMIT: a topic filter has at
// most this many "/" separators.
const maxTopicLevels = 200

// maxTopicBytes is the longest topic filter MQTT allows.
const maxTopicBytes = 65535

// Access is what an ACL rule grants.
type Access int

// Accesses, as Mosquitto's MOSQ_ACL_* bits.
const (
	// AccessDeny refuses the topics of the rule, before any grant is checked.
	AccessDeny Access = 0
	// AccessRead lets a client receive messages on the topics.
	AccessRead Access = 1
	// AccessWrite lets a client publish on the topics.
	AccessWrite Access = 2
	// AccessReadWrite is both; it is the default of a rule without an access word.
	AccessReadWrite = AccessRead | AccessWrite
)

// String is the access word of the file format.
func (a Access) String() string {
	switch a {
	case AccessRead:
		return "read"
	case AccessWrite:
		return "write"
	case AccessReadWrite:
		return "readwrite"
	}
	return "deny"
}

// Reads reports whether a grants reading.
func (a Access) Reads() bool { return a&AccessRead != 0 }

// ACLRule is one "topic" or "pattern" line of an acl_file.
type ACLRule struct {
	// File and Line locate the rule (Line is 1-based).
	File string
	Line int
	// Pattern is set for a "pattern" line: it applies to every client,
	// with %c and %u replaced by the client's id and user name.
	Pattern bool
	// User is the user block a "topic" line stands in: "" is the general
	// section before any "user" line, which Mosquitto applies to clients
	// without a user name. Patterns apply whatever block they stand in; for
	// them User only records where the line is.
	User string
	// Access is what the rule grants (or AccessDeny).
	Access Access
	// Filter is the topic filter, wildcards and substitutions as written.
	Filter string
}

// Keyword is "topic" or "pattern".
func (r ACLRule) Keyword() string {
	if r.Pattern {
		return "pattern"
	}
	return "topic"
}

// String is "file:line: topic read #".
func (r ACLRule) String() string {
	return fmt.Sprintf("%s:%d: %s %s %s", r.File, r.Line, r.Keyword(), r.Access, r.Filter)
}

// ACL is a parsed acl_file.
type ACL struct {
	// File is the name the rules cite; SHA256 the hex digest of its bytes.
	File   string
	SHA256 string
	// Rules in file order.
	Rules []ACLRule
	// Users are the names of the "user" lines, in order, without repeats.
	Users []string
	// Warnings are lines Mosquitto loads with a warning.
	Warnings []string
}

// ParseACL reads an acl_file the way Mosquitto 2.0 does (aclfile__parse in
// src/security_default.c), and refuses whatever would stop the broker from
// loading it, with the line: a line whose first character is "#" is a
// comment; words are separated by spaces only; "topic" and "pattern" take
// an optional access word (read, write, readwrite, deny) and a topic filter
// whose wildcards are whole levels; "user" takes a name; any other first
// word is an error. name is used as the file of every rule.
func ParseACL(rd io.Reader, name string) (*ACL, error) {
	data, err := io.ReadAll(io.LimitReader(rd, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("read %s: larger than %d bytes", name, MaxFileBytes)
	}
	sum := sha256.Sum256(data)
	a := &ACL{File: name, SHA256: hex.EncodeToString(sum[:])}
	user := ""
	for i, raw := range bytes.Split(data, []byte("\n")) {
		line := i + 1
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%w: %s:%d: %s", ErrACLSyntax, name, line, fmt.Sprintf(format, args...))
		}
		if bytes.IndexByte(raw, 0) >= 0 {
			return nil, bad("NUL byte")
		}
		text := strings.TrimRight(string(raw), cSpace)
		if strings.HasPrefix(text, "#") {
			continue
		}
		word, rest, more := strings.Cut(strings.TrimLeft(text, " "), " ")
		switch word {
		case "":
			continue
		case "topic", "pattern":
			r, err := parseRule(word == "pattern", rest, more)
			if err != nil {
				return nil, bad("%s", err)
			}
			r.File, r.Line, r.User = name, line, user
			if r.Pattern && !strings.Contains(r.Filter, "%c") && !strings.Contains(r.Filter, "%u") {
				a.Warnings = append(a.Warnings, fmt.Sprintf("%s:%d: pattern %q has no %%c or %%u: it applies to every client alike", name, line, r.Filter))
			}
			a.Rules = append(a.Rules, r)
		case "user":
			user = strings.Trim(rest, cSpace)
			if !more || user == "" {
				return nil, bad("user needs a user name")
			}
			if !contains(a.Users, user) {
				a.Users = append(a.Users, user)
			}
		default:
			if strings.HasPrefix(word, "#") {
				return nil, bad("a comment must start in the first column (Mosquitto reads %q as a keyword)", word)
			}
			return nil, bad("unknown keyword %q (want topic, pattern or user; words are separated by spaces, not tabs)", word)
		}
	}
	return a, nil
}

// cSpace is what C's isspace accepts, which Mosquitto trims with.
const cSpace = " \t\n\v\f\r"

// parseRule reads what follows "topic" or "pattern": [access] filter.
func parseRule(pattern bool, rest string, more bool) (ACLRule, error) {
	r := ACLRule{Pattern: pattern, Access: AccessReadWrite}
	access, filter, hasFilter := strings.Cut(strings.TrimLeft(rest, " "), " ")
	if !more || access == "" {
		return r, errors.New("empty topic")
	}
	if !hasFilter || strings.Trim(filter, cSpace) == "" {
		// One word: the filter itself, with read and write access (so
		// "topic read" names the topic "read").
		r.Filter = access
	} else {
		switch access {
		case "read":
			r.Access = AccessRead
		case "write":
			r.Access = AccessWrite
		case "readwrite":
			r.Access = AccessReadWrite
		case "deny":
			r.Access = AccessDeny
		default:
			return r, fmt.Errorf("access %q is not read, write, readwrite or deny (a topic with spaces needs the access word first)", access)
		}
		r.Filter = strings.Trim(filter, cSpace)
	}
	if err := checkFilter(r.Filter); err != nil {
		return r, fmt.Errorf("topic filter %q: %w", r.Filter, err)
	}
	return r, nil
}

// checkFilter is Mosquitto's mosquitto_sub_topic_check: "+" and "#" stand
// alone in their level and "#" comes last.
func checkFilter(f string) error {
	if len(f) > maxTopicBytes {
		return fmt.Errorf("longer than %d bytes", maxTopicBytes)
	}
	if strings.Count(f, "/") > maxTopicLevels {
		return fmt.Errorf("more than %d levels", maxTopicLevels)
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1:
			return errors.New(`"#" must be the last level`)
		case l != "#" && l != "+" && strings.ContainsAny(l, "#+"):
			return errors.New(`a wildcard must be a whole level`)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
