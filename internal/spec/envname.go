package spec

import (
	"regexp"
	"strings"
)

// envNamePattern is a portable environment variable name.
var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// conventionalEnvName is a name as people write them (HARDGATE_TOKEN):
// upper case, digits and underscores, not overly long.
var conventionalEnvName = regexp.MustCompile(`^[A-Z_][A-Z0-9_]{0,63}$`)

// Withheld stands for a value an error must not print: what was given
// where the name of an environment variable belongs may be the secret
// itself.
type Withheld struct{}

// String is what an error prints instead of the value.
func (Withheld) String() string { return "[withheld: it may be the secret itself]" }

// ShownEnvName is the value of a *_env field as an error may print it: the
// name when it reads as a conventional variable name (HARDGATE_TOKEN),
// else Withheld. A user who passes the token itself instead of a variable
// name must never see it echoed on a terminal or in a CI log.
func ShownEnvName(name string) any {
	wordy := strings.Contains(name, "_") || len(name) <= 12
	if conventionalEnvName.MatchString(name) && wordy && digits(name) <= 4 {
		return name
	}
	return Withheld{}
}

func digits(s string) int {
	n := 0
	for _, c := range s {
		if c >= '0' && c <= '9' {
			n++
		}
	}
	return n
}

// IsEnvName reports whether name is a portable environment variable name.
func IsEnvName(name string) bool { return envNamePattern.MatchString(name) }

// EnvNameHint is the advice of every error about a *_env field: what the
// field takes, with an example, and that the secret itself does not go there.
func EnvNameHint(secret, example string) string {
	return "name the environment variable that holds the " + secret + ": export " + example + "=<the " + secret +
		">, then give " + example + " (do not pass the " + secret + " itself)"
}
