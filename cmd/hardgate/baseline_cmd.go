package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/hardgate/hardgate/internal/store"
)

const baselineUsage = `Usage: hardgate baseline set TARGET AUDIT_ID [--db FILE|URL] [--reason TEXT] [--by NAME]
       hardgate baseline show TARGET [--db FILE|URL]

A target's baseline is the audit later audits are compared with (hardgate
serve alerts when one regresses against it). The first PASS becomes the
baseline unless one is set; "set" changes it, and every change is kept with
who, when and why; "show" lists them, newest first (the first line is the
baseline in force).

The history is --db (a SQLite file or a postgres:// URL), else
$HARDGATE_HISTORY, else ./hardgate-history.db.

Examples:
  hardgate history list --target plant-gateway
  hardgate baseline set plant-gateway hg-30fcda7e75f00a4c --reason "after the hardening sprint"
  hardgate baseline show plant-gateway
  hardgate baseline set gw-0001 hg-0c1d... --db postgres://hardgate@db.internal/history?sslmode=verify-full

Exit codes: 0 ok, 2 usage error, unknown audit, or an audit of another target.

Flags:
`

func runBaseline(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "set" && args[0] != "show") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, baselineUsage)
			return exitOK
		}
		fmt.Fprint(stderr, baselineUsage)
		return exitUsage
	}
	var db, reason, by string
	fs := historyFlagSet("baseline "+args[0], baselineUsage, stderr, &db)
	fs.StringVar(&reason, "reason", "set by hand", "why the baseline changes (`TEXT`)")
	fs.StringVar(&by, "by", defaultUser(), "who changes it (`NAME`; default $USER)")
	pos, code, ok := parseHistoryFlags(fs, args[1:])
	if !ok {
		return code
	}
	want := 2
	if args[0] == "show" {
		want = 1
	}
	if len(pos) != want {
		fmt.Fprintf(stderr, "hardgate baseline %s: wrong number of arguments (see --help)\n", args[0])
		return exitUsage
	}
	s, err := openHistory(ctx, db)
	if err != nil {
		fmt.Fprintf(stderr, "hardgate baseline %s: %v\n", args[0], err)
		return exitUsage
	}
	defer s.Close()
	if args[0] == "set" {
		c := store.BaselineChange{Target: pos[0], AuditID: pos[1], By: by, Reason: reason}
		if err := s.SetBaseline(ctx, c); err != nil {
			fmt.Fprintf(stderr, "hardgate baseline set: %v\n", err)
			return exitUsage
		}
		fmt.Fprintf(stdout, "baseline of %s is now %s (by %s: %s)\n", cell(pos[0]), cell(pos[1]), cell(by), reason)
		return exitOK
	}
	changes, err := s.BaselineHistory(ctx, pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "hardgate baseline show: %v\n", err)
		return exitUsage
	}
	if len(changes) == 0 {
		fmt.Fprintf(stdout, "%s has no baseline yet (its first PASS becomes one under hardgate serve).\n", cell(pos[0]))
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SET (UTC)\tAUDIT ID\tBY\tWHY")
	for _, c := range changes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.At.UTC().Format("2006-01-02 15:04:05Z"), cell(c.AuditID), cell(c.By), c.Reason)
	}
	if err := tw.Flush(); err != nil {
		return exitUsage
	}
	return exitOK
}

func defaultUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "cli"
}
