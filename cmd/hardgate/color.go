package main

import "github.com/hardgate/hardgate/internal/result"

// ANSI colours of one length (5 bytes, and 4 for the reset): a coloured
// table cell is wider by the same number of invisible bytes in every row,
// so text/tabwriter still lines the columns up. A header cell gets the
// same width of "default colour" so it lines up with them.
const (
	ansiRed     = "\x1b[31m"
	ansiGreen   = "\x1b[32m"
	ansiYellow  = "\x1b[33m"
	ansiGrey    = "\x1b[90m"
	ansiDefault = "\x1b[39m"
	ansiReset   = "\x1b[0m"
)

// painter colours table cells when on.
type painter bool

// word colours a status or posture word: PASS/green green, FAIL/red red,
// INCONCLUSIVE/amber yellow, anything else grey.
func (p painter) word(w string) string {
	if !p {
		return w
	}
	code := ansiGrey
	switch w {
	case result.AuditPass, result.PostureGreen:
		code = ansiGreen
	case result.AuditFail, result.PostureRed:
		code = ansiRed
	case result.AuditInconclusive, result.PostureAmber:
		code = ansiYellow
	}
	return code + w + ansiReset
}

// header pads a header cell of a coloured column to the same invisible width.
func (p painter) header(h string) string {
	if !p {
		return h
	}
	return ansiDefault + h + ansiReset
}
