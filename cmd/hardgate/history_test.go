package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/store"
)

func runHistoryCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runHistory(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// writeResult writes res as a result file in dir and returns its path.
func writeResult(t *testing.T, dir, name string, res *result.Result) string {
	t.Helper()
	var buf bytes.Buffer
	if err := result.Encode(&buf, res); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type historyFixture struct {
	dir, db, before, after string
}

func newHistoryFixture(t *testing.T) historyFixture {
	t.Helper()
	dir := t.TempDir()
	return historyFixture{
		dir:    dir,
		db:     filepath.Join(dir, "history.db"),
		before: writeResult(t, dir, "before.json", reporttest.WorkedExampleBefore()),
		after:  writeResult(t, dir, "after.json", reporttest.WorkedExampleAfter()),
	}
}

func storedIDs(t *testing.T, db string) []string {
	t.Helper()
	if _, err := os.Stat(db); err != nil {
		return nil
	}
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	entries, err := s.List(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.AuditID)
	}
	return ids
}

func TestHistoryUsage(t *testing.T) {
	f := newHistoryFixture(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"no subcommand prints usage and exits 2", nil, exitUsage, "Usage: hardgate history"},
		{"an unknown subcommand exits 2", []string{"prune"}, exitUsage, `unknown command "prune"`},
		{"history help has examples and exits 0", []string{"--help"}, exitOK, "Examples:"},
		{"add help has examples and exits 0", []string{"add", "--help"}, exitOK, "Examples:"},
		{"list help has examples and exits 0", []string{"list", "-h"}, exitOK, "Examples:"},
		{"show help has examples and exits 0", []string{"show", "--help"}, exitOK, "Examples:"},
		{"trend help has examples and exits 0", []string{"trend", "--help"}, exitOK, "Examples:"},
		{"add without a file exits 2", []string{"add", "--db", f.db}, exitUsage, "at least one RESULT.json"},
		{"an unknown flag exits 2", []string{"list", "--bogus"}, exitUsage, "flag provided but not defined"},
		{"list with an unknown format exits 2", []string{"list", "--db", f.db, "--format", "xml"}, exitUsage, "must be text or json"},
		{"list with a negative limit exits 2", []string{"list", "--db", f.db, "--limit", "-3"}, exitUsage, "--limit -3"},
		{"list with an argument exits 2", []string{"list", "extra"}, exitUsage, `unexpected argument "extra"`},
		{"list of a missing database exits 2 with a hint", []string{"list", "--db", f.db}, exitUsage, "history add RESULT.json"},
		{"show without an id exits 2", []string{"show", "--db", f.db}, exitUsage, "exactly one AUDIT_ID"},
		{"show with an unknown format exits 2", []string{"show", "x", "--db", f.db, "--format", "pdf"}, exitUsage, "--format \"pdf\""},
		{"trend without a target exits 2", []string{"trend", "--db", f.db}, exitUsage, "--target NAME is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runHistoryCLI(t, tt.args...)
			if code != tt.wantCode || !strings.Contains(stdout+stderr, tt.wantOut) {
				t.Fatalf("exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, tt.wantOut, stdout, stderr)
			}
		})
	}
	if _, err := os.Stat(f.db); !os.IsNotExist(err) {
		t.Errorf("reading commands created the database (stat: %v)", err)
	}
}

func TestHistoryAddListShowTrend(t *testing.T) {
	f := newHistoryFixture(t)

	// Flags may follow the files; results are stored whatever the order.
	code, stdout, stderr := runHistoryCLI(t, "add", f.after, f.before, "--db", f.db)
	if code != exitOK {
		t.Fatalf("add: exit %d\n%s", code, stderr)
	}
	// The worked example before the sprint has risk score 70.
	wantAdd := "added  hg-0000000000000002  plant-gateway  PASS  green  risk 0   0 findings  " + f.after + "\n" +
		"added  hg-0000000000000001  plant-gateway  FAIL  red    risk 70  4 findings  " + f.before + "\n" +
		"history: " + f.db + "\n"
	if stdout != wantAdd {
		t.Errorf("add printed\n%s\nwant\n%s", stdout, wantAdd)
	}

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"list prints posture over time newest first", []string{"list", "--db", f.db},
			"STARTED (UTC)         TARGET         AUDIT ID             STATUS  POSTURE  RISK  FINDINGS\n" +
				"2026-01-18 09:00:00Z  plant-gateway  hg-0000000000000002  PASS    green    0     0\n" +
				"2026-01-15 09:00:00Z  plant-gateway  hg-0000000000000001  FAIL    red      " + padRisk(reporttest.WorkedExampleBefore().Summary.RiskScore) + "4\n"},
		{"list with a limit keeps the newest", []string{"list", "--db", f.db, "--limit", "1"},
			"STARTED (UTC)         TARGET         AUDIT ID             STATUS  POSTURE  RISK  FINDINGS\n" +
				"2026-01-18 09:00:00Z  plant-gateway  hg-0000000000000002  PASS    green    0     0\n"},
		{"list of an unknown target says so", []string{"list", "--db", f.db, "--target", "edge-gw-99"},
			"No audits of target edge-gw-99 in " + f.db + ".\n"},
		{"re-adding the same results changes nothing", []string{"add", "--db", f.db, f.before},
			"unchanged  hg-0000000000000001  plant-gateway  FAIL  red  risk " + itoa(reporttest.WorkedExampleBefore().Summary.RiskScore) + "  4 findings  " + f.before + "\nhistory: " + f.db + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runHistoryCLI(t, tt.args...)
			if code != exitOK {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			if stdout != tt.want {
				t.Errorf("got\n%s\nwant\n%s", stdout, tt.want)
			}
		})
	}

	t.Run("a file given twice in one batch is stored once", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "twice.db")
		code, stdout, stderr := runHistoryCLI(t, "add", "--db", db, f.after, f.after)
		if code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		if !strings.HasPrefix(stdout, "added      hg-0000000000000002") || !strings.Contains(stdout, "\nunchanged  hg-0000000000000002") {
			t.Errorf("add printed\n%s", stdout)
		}
		if got := storedIDs(t, db); len(got) != 1 {
			t.Errorf("stored %v", got)
		}
	})

	t.Run("list as JSON has every summary field", func(t *testing.T) {
		code, stdout, stderr := runHistoryCLI(t, "list", "--db", f.db, "--format", "json")
		if code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		var entries []store.Entry
		if err := json.Unmarshal([]byte(stdout), &entries); err != nil {
			t.Fatal(err)
		}
		if len(entries) != 2 || entries[0].AuditID != "hg-0000000000000002" || entries[1].Posture != result.PostureRed || entries[1].Findings != 4 {
			t.Errorf("entries %+v", entries)
		}
	})

	t.Run("show prints the stored result JSON as the file had it", func(t *testing.T) {
		code, stdout, stderr := runHistoryCLI(t, "show", "hg-0000000000000002", "--db", f.db)
		if code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		want, _ := os.ReadFile(f.after)
		if stdout != string(want) {
			t.Errorf("show differs from the added file:\n%s", stdout)
		}
	})

	t.Run("show renders other report formats", func(t *testing.T) {
		code, stdout, stderr := runHistoryCLI(t, "show", "--format", "md", "--db", f.db, "hg-0000000000000001")
		if code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		var want bytes.Buffer
		report.Render(&want, reporttest.WorkedExampleBefore(), "md", renderOptions(false))
		if stdout != want.String() {
			t.Error("show --format md differs from the md report of the result")
		}
	})

	t.Run("show of an unknown id exits 2 with a hint", func(t *testing.T) {
		code, _, stderr := runHistoryCLI(t, "show", "hg-0000000000009999", "--db", f.db)
		if code != exitUsage || !strings.Contains(stderr, "audit not found") || !strings.Contains(stderr, "history list") {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
	})

	t.Run("trend shows the target's posture oldest first", func(t *testing.T) {
		code, stdout, stderr := runHistoryCLI(t, "trend", "--db", f.db, "--target", reporttest.WorkedExampleBefore().Target.Name)
		if code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		risk := reporttest.WorkedExampleBefore().Summary.RiskScore
		for _, want := range []string{
			"Posture of plant-gateway over 2 audits:",
			"hg-0000000000000001  FAIL    red",
			"0/3/1/0/0",
			"first audit",
			"red→green, risk -" + itoa(risk) + ", findings -4",
			"plant-gateway: red → green, risk " + itoa(risk) + " → 0, findings 4 → 0.",
		} {
			if !strings.Contains(stdout, want) {
				t.Errorf("trend lacks %q:\n%s", want, stdout)
			}
		}
		if strings.Index(stdout, "hg-0000000000000001") > strings.Index(stdout, "hg-0000000000000002") {
			t.Errorf("trend is not oldest first:\n%s", stdout)
		}
	})

	t.Run("trend as JSON counts failed controls by severity", func(t *testing.T) {
		code, stdout, stderr := runHistoryCLI(t, "trend", "--db", f.db, "--target", reporttest.WorkedExampleBefore().Target.Name, "--format", "json")
		if code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		var points []store.TrendPoint
		if err := json.Unmarshal([]byte(stdout), &points); err != nil {
			t.Fatal(err)
		}
		if len(points) != 2 || points[0].FailedBySeverity["high"] != 3 || points[0].FailedBySeverity["medium"] != 1 || points[1].Controls.Pass != 19 {
			t.Errorf("points %+v", points)
		}
	})
}

func TestHistoryAddRefusesBadInput(t *testing.T) {
	f := newHistoryFixture(t)
	full, _ := os.ReadFile(f.before)
	truncated := filepath.Join(f.dir, "truncated.json")
	os.WriteFile(truncated, full[:len(full)/2], 0o600)
	var wrong bytes.Buffer
	result.Encode(&wrong, reporttest.WorkedExampleBefore())
	wrongSchema := filepath.Join(f.dir, "wrong-schema.json")
	os.WriteFile(wrongSchema, bytes.Replace(wrong.Bytes(), []byte(`"schema_version": "`+result.SchemaVersion+`"`), []byte(`"schema_version": "2.0"`), 1), 0o600)
	unknownField := filepath.Join(f.dir, "unknown-field.json")
	os.WriteFile(unknownField, bytes.Replace(wrong.Bytes(), []byte(`"audit_id"`), []byte(`"auditor": "x", "audit_id"`), 1), 0o600)
	changed := reporttest.WorkedExampleAfter()
	changed.Summary.Headline = "edited by hand"
	conflicting := writeResult(t, f.dir, "conflicting.json", changed)
	notADB := filepath.Join(f.dir, "notes.txt")
	os.WriteFile(notADB, []byte(strings.Repeat("meeting notes, not a database\n", 200)), 0o600)

	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"a truncated result file is refused and nothing is stored", []string{"add", f.before, truncated}, "parse result"},
		{"a result with another schema version is refused and nothing is stored", []string{"add", f.before, wrongSchema}, "unsupported result schema version"},
		{"a result with an unknown field is refused and nothing is stored", []string{"add", f.before, unknownField}, `unknown field "auditor"`},
		{"a missing result file is refused and nothing is stored", []string{"add", f.before, filepath.Join(f.dir, "nope.json")}, "no such file"},
		{"the same audit id with other content is refused and nothing is stored", []string{"add", f.before, conflicting}, "already stored with different content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "history.db")
			if code, _, stderr := runHistoryCLI(t, "add", "--db", db, f.after); code != exitOK {
				t.Fatalf("seeding: exit %d\n%s", code, stderr)
			}
			code, stdout, stderr := runHistoryCLI(t, append(tt.args, "--db", db)...)
			if code != exitUsage || !strings.Contains(stderr, tt.wantErr) || !strings.Contains(stderr, "nothing was stored") {
				t.Fatalf("exit %d, want 2 with %q\nstdout:\n%s\nstderr:\n%s", code, tt.wantErr, stdout, stderr)
			}
			if got := storedIDs(t, db); strings.Join(got, ",") != "hg-0000000000000002" {
				t.Errorf("stored %v, want only the seed", got)
			}
		})
	}

	t.Run("a file that is not a history database is refused with a clear error", func(t *testing.T) {
		before, _ := os.ReadFile(notADB)
		for _, args := range [][]string{{"add", f.before}, {"list"}, {"show", "hg-0000000000000001"}, {"trend", "--target", "x"}} {
			code, _, stderr := runHistoryCLI(t, append(args, "--db", notADB)...)
			if code != exitUsage || !strings.Contains(stderr, "not a hardgate history database") || !strings.Contains(stderr, notADB) {
				t.Errorf("%s: exit %d\n%s", args[0], code, stderr)
			}
		}
		if after, _ := os.ReadFile(notADB); !bytes.Equal(before, after) {
			t.Error("the file was modified")
		}
	})
}

func TestHistoryDatabaseLocation(t *testing.T) {
	tests := []struct {
		name   string
		env    string
		flag   string
		wantDB string
	}{
		{"without --db or the variable the database is in the working directory", "", "", defaultHistoryFile},
		{"HARDGATE_HISTORY names the database", "from-env.db", "", "from-env.db"},
		{"--db wins over HARDGATE_HISTORY", "from-env.db", "from-flag.db", "from-flag.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newHistoryFixture(t)
			work := t.TempDir()
			t.Chdir(work)
			t.Setenv(historyEnv, tt.env)
			args := []string{"add", f.after}
			if tt.flag != "" {
				args = append(args, "--db", tt.flag)
			}
			if code, _, stderr := runHistoryCLI(t, args...); code != exitOK {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			if got := storedIDs(t, filepath.Join(work, tt.wantDB)); len(got) != 1 {
				t.Errorf("%s holds %v, want the added audit", tt.wantDB, got)
			}
		})
	}
}

func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantPos string
		wantDB  string
	}{
		{"flags before the files", []string{"--db", "h.db", "a.json", "b.json"}, "a.json,b.json", "h.db"},
		{"flags between and after the files", []string{"a.json", "--db=h.db", "b.json"}, "a.json,b.json", "h.db"},
		{"everything after -- is a file", []string{"a.json", "--", "--db", "b.json"}, "a.json,--db,b.json", "default.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var db string
			fs := historyFlagSet("test", "", &bytes.Buffer{}, &db)
			fs.Set("db", "default.db")
			pos, err := parseInterleaved(fs, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(pos, ",") != tt.wantPos || db != tt.wantDB {
				t.Errorf("positional %v db %q, want %s and %q", pos, db, tt.wantPos, tt.wantDB)
			}
		})
	}
}

func TestCellQuotesUnsafeText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"a plain id is printed as is", "hg-0000000000000001", "hg-0000000000000001"},
		{"an empty value is shown as empty quotes", "", `""`},
		{"a value with a space is quoted", "edge gw", `"edge gw"`},
		{"a terminal escape is quoted", "x\x1b[2Jy", `"x\x1b[2Jy"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cell(tt.in); got != tt.want {
				t.Errorf("cell(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// padRisk is the RISK cell of the list table (column width 6).
func padRisk(n int) string {
	s := itoa(n)
	return s + strings.Repeat(" ", max(2, 6-len(s)))
}
