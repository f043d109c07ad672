package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"text/tabwriter"
	"unicode"

	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/store"
)

// historyEnv names the environment variable holding the default database.
const historyEnv = "HARDGATE_HISTORY"

// defaultHistoryFile is the database used without --db or $HARDGATE_HISTORY.
const defaultHistoryFile = "hardgate-history.db"

const historyUsage = `Usage: hardgate history <command> [flags]

Keeps audit results in a database and shows posture over time: a local
SQLite file, or PostgreSQL with a postgres:// URL (sslmode=verify-full for a
server on another host). The database is --db FILE|URL, else
$HARDGATE_HISTORY, else ./hardgate-history.db.

Commands:
  add RESULT.json|DIR...  store results (all or none; re-adding a stored result is a no-op);
                       DIR is a fleet output folder: every result its fleet.json names
  list                 stored audits, newest first: time, target, id, status, posture, risk, findings
  trend --target NAME  one target's audits, oldest first, with failed controls by severity
  show AUDIT_ID        print a stored result (JSON, or any report format)

Examples:
  hardgate audit --target after.yaml --out after.json
  hardgate history add before.json after.json
  hardgate history list --target plant-gateway --limit 10
  hardgate history trend --target plant-gateway
  hardgate history show hg-30fcda7e75f00a4c > after.json
  hardgate history show hg-30fcda7e75f00a4c --format html > after.html
  HARDGATE_HISTORY=/var/lib/hardgate/history.db hardgate history list --format json
  hardgate history list --db "postgres://hardgate@db.internal/history?sslmode=verify-full"

Exit codes: 0 ok, 2 usage or input error (unreadable result, conflicting
audit id, unknown audit id, a file that is not a history database).

Run "hardgate history <command> --help" for the flags of a command.
`

func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, historyUsage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "add":
		return historyAdd(ctx, rest, stdout, stderr)
	case "list":
		return historyList(ctx, rest, stdout, stderr)
	case "trend":
		return historyTrend(ctx, rest, stdout, stderr)
	case "show":
		return historyShow(ctx, rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, historyUsage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "hardgate history: unknown command %q\n\n%s", cmd, historyUsage)
		return exitUsage
	}
}

// defaultHistoryDB is $HARDGATE_HISTORY, else ./hardgate-history.db.
func defaultHistoryDB() string {
	if p := os.Getenv(historyEnv); p != "" {
		return p
	}
	return defaultHistoryFile
}

// historyFlagSet is a FlagSet with --db and a usage text.
func historyFlagSet(name, usage string, stderr io.Writer, db *string) *flag.FlagSet {
	fs := flag.NewFlagSet("hardgate history "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	fs.StringVar(db, "db", defaultHistoryDB(), "history database: a SQLite `FILE` or a postgres:// URL (default $"+historyEnv+", else ./"+defaultHistoryFile+")")
	return fs
}

// parseInterleaved parses flags placed before, between or after the
// positional arguments ("add a.json --db h.db b.json"); everything after
// "--" is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseHistoryFlags parses args and turns -h into exit 0 and any other
// parse error into exit 2; ok is false when the caller must return code.
func parseHistoryFlags(fs *flag.FlagSet, args []string) (pos []string, code int, ok bool) {
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil, exitOK, false
	}
	if err != nil {
		return nil, exitUsage, false
	}
	return pos, exitOK, true
}

// openHistory opens an existing history; reading commands do not create one.
func openHistory(ctx context.Context, path string) (*store.Store, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && !store.IsPostgres(path) {
		return nil, fmt.Errorf("no history database at %s: store results first with hardgate history add RESULT.json (or choose the file with --db or $%s)", path, historyEnv)
	}
	return store.Open(ctx, path)
}

const historyAddUsage = `Usage: hardgate history add (RESULT.json | DIR)... [--db FILE]

Stores audit results. Every file is read and checked first (strict decoding,
schema version); if one is unreadable nothing is stored. All results are
stored in one transaction. A result already stored with the same content is
left as it is; the same audit id with different content is refused.
A folder DIR is the output of "hardgate audit --fleet ... --out-dir DIR": every
result its fleet.json names is stored, in the same single transaction.

Examples:
  hardgate history add before.json after.json
  hardgate history add --db /var/lib/hardgate/history.db results/*.json
  hardgate history add audits/2026-05-01

Flags:
`

func historyAdd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var db string
	fs := historyFlagSet("add", historyAddUsage, stderr, &db)
	files, code, ok := parseHistoryFlags(fs, args)
	if !ok {
		return code
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "hardgate history add: give at least one RESULT.json (see --help)")
		return exitUsage
	}
	files, err := expandFleetDirs(files)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate history add: %v\nnothing was stored\n", err)
		return exitUsage
	}
	results := make([]*result.Result, 0, len(files))
	for _, f := range files {
		res, err := readResult(f)
		if err != nil {
			fmt.Fprintf(stderr, "hardgate history add: %v\nnothing was stored\n", err)
			return exitUsage
		}
		results = append(results, res)
	}
	s, err := store.Open(ctx, db)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate history add: %v\n", err)
		return exitUsage
	}
	defer s.Close()
	added, err := s.AddAll(ctx, results)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate history add: %v\nnothing was stored\n", err)
		return exitUsage
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for i, res := range results {
		verb := "unchanged"
		if j := slices.Index(added, res.AuditID); j >= 0 {
			verb = "added"
			added = slices.Delete(added, j, j+1) // a file given twice is added once
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\trisk %d\t%d findings\t%s\n", verb, cell(res.AuditID), cell(res.Target.Name),
			cell(res.Summary.Status), cell(res.Summary.Posture), res.Summary.RiskScore, res.Summary.Findings, files[i])
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(stderr, "hardgate history add: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "history: %s\n", db)
	return exitOK
}

const historyListUsage = `Usage: hardgate history list [--db FILE] [--target NAME] [--limit N] [--format text|json]

Lists stored audits, newest first (by start time, then audit id): start time
(UTC), target, audit id, status, posture, risk score and number of findings.

Examples:
  hardgate history list
  hardgate history list --target plant-gateway --limit 5
  hardgate history list --format json | jq '.[0].posture'

Flags:
`

func historyList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var db, target, format string
	var limit int
	fs := historyFlagSet("list", historyListUsage, stderr, &db)
	fs.StringVar(&target, "target", "", "only the audits of this target `NAME`")
	fs.IntVar(&limit, "limit", 0, "show at most `N` audits, the newest (0: all)")
	fs.StringVar(&format, "format", "text", "output format: text or json")
	pos, code, ok := parseHistoryFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "hardgate history list: unexpected argument %q (flags only)\n", pos[0])
		return exitUsage
	}
	if format != "text" && format != "json" {
		fmt.Fprintf(stderr, "hardgate history list: --format %q: must be text or json\n", format)
		return exitUsage
	}
	if limit < 0 {
		fmt.Fprintf(stderr, "hardgate history list: --limit %d: must be 0 (all) or more\n", limit)
		return exitUsage
	}
	s, err := openHistory(ctx, db)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate history list: %v\n", err)
		return exitUsage
	}
	defer s.Close()
	entries, err := s.List(ctx, store.Filter{Target: target, Limit: limit})
	if err != nil {
		fmt.Fprintf(stderr, "hardgate history list: %v\n", err)
		return exitUsage
	}
	if format == "json" {
		return writeJSON(stdout, stderr, "list", entries)
	}
	if len(entries) == 0 {
		if target != "" {
			fmt.Fprintf(stdout, "No audits of target %s in %s.\n", cell(target), db)
		} else {
			fmt.Fprintf(stdout, "No audits in %s.\n", db)
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED (UTC)\tTARGET\tAUDIT ID\tSTATUS\tPOSTURE\tRISK\tFINDINGS")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\n", utcTime(e), cell(e.Target), cell(e.AuditID), cell(e.Status), cell(e.Posture), e.RiskScore, e.Findings)
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(stderr, "hardgate history list: %v\n", err)
		return exitUsage
	}
	return exitOK
}

const historyTrendUsage = `Usage: hardgate history trend --target NAME [--db FILE] [--format text|json]

Shows one target's audits oldest first: status, posture, risk score, failed
controls by severity (critical, high, medium, low, info), controls that could
not decide, and what changed since the audit before.

Examples:
  hardgate history trend --target plant-gateway
  hardgate history trend --target plant-gateway --format json

Flags:
`

const historyShowUsage = `Usage: hardgate history show AUDIT_ID [--db FILE] [--format FORMAT]

Prints a stored result: the result JSON by default (the same document
hardgate audit --out writes), or any report format.

Examples:
  hardgate history show hg-30fcda7e75f00a4c > after.json
  hardgate history show hg-c718ebccf481b583 --format md
  hardgate history show hg-c718ebccf481b583 --format html > before.html

Flags:
`

func writeJSON(stdout, stderr io.Writer, cmd string, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(stderr, "hardgate history %s: %v\n", cmd, err)
		return exitUsage
	}
	return exitOK
}

func utcTime(e store.Entry) string { return e.StartedAt.UTC().Format("2006-01-02 15:04:05Z") }

// cell makes a string from a result file safe for a terminal table: one
// that is empty or holds spaces or control characters is quoted.
func cell(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
