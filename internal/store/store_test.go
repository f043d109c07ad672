package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/store/pgtest"
)

// otherTarget is a second gateway, audited between the worked example's
// before and after.
func otherTarget() *result.Result {
	r := reporttest.WorkedExampleAfter()
	r.AuditID = "hg-0000000000000003"
	r.Target.Name = "substation-gateway"
	r.StartedAt = r.StartedAt.Add(-24 * time.Hour)
	r.FinishedAt = r.FinishedAt.Add(-24 * time.Hour)
	return r
}

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// engine is one of the two history engines: every behaviour test runs on
// both, SQLite in a temporary file and a real PostgreSQL server (a
// throwaway cluster, a fresh database per test).
type engine struct {
	name string
	// location returns a new, empty history location.
	location func(t *testing.T) string
}

var engines = []engine{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "history.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }},
}

// onEachEngine runs f as a subtest per engine.
func onEachEngine(t *testing.T, f func(t *testing.T, e engine)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { f(t, e) })
	}
}

// open opens a new, empty history on the engine.
func (e engine) open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), e.location(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func ids(entries []Entry) []string {
	out := []string{}
	for _, e := range entries {
		out = append(out, e.AuditID)
	}
	return out
}

func TestAddThenListGetAndTrend(t *testing.T) { onEachEngine(t, testAddThenListGetAndTrend) }

func testAddThenListGetAndTrend(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.open(t)
	// Added out of time order on purpose: the store orders by time.
	if err := add(ctx, s, reporttest.WorkedExampleAfter()); err != nil {
		t.Fatalf("Add after: %v", err)
	}
	added, err := s.AddAll(ctx, []*result.Result{reporttest.WorkedExampleBefore(), otherTarget()})
	if err != nil {
		t.Fatalf("AddAll: %v", err)
	}
	if got := strings.Join(added, ","); got != "hg-0000000000000001,hg-0000000000000003" {
		t.Errorf("AddAll added %s", got)
	}

	t.Run("list shows every audit newest first", func(t *testing.T) {
		got, err := s.List(ctx, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if want := "hg-0000000000000002,hg-0000000000000003,hg-0000000000000001"; strings.Join(ids(got), ",") != want {
			t.Errorf("order %v, want %s", ids(got), want)
		}
	})

	listTests := []struct {
		name   string
		filter Filter
		want   string
	}{
		{"a target filter keeps that target's audits", Filter{Target: reporttest.WorkedExampleBefore().Target.Name}, "hg-0000000000000002,hg-0000000000000001"},
		{"a limit keeps the newest audits", Filter{Limit: 2}, "hg-0000000000000002,hg-0000000000000003"},
		{"a target filter and a limit combine", Filter{Target: reporttest.WorkedExampleBefore().Target.Name, Limit: 1}, "hg-0000000000000002"},
		{"an unknown target lists nothing", Filter{Target: "nope"}, ""},
	}
	for _, tt := range listTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.List(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(ids(got), ",") != tt.want {
				t.Errorf("got %v, want %s", ids(got), tt.want)
			}
		})
	}

	t.Run("a negative limit is an error", func(t *testing.T) {
		if _, err := s.List(ctx, Filter{Limit: -1}); err == nil {
			t.Fatal("want an error")
		}
	})

	t.Run("list entries carry the summary", func(t *testing.T) {
		got, err := s.List(ctx, Filter{Target: reporttest.WorkedExampleBefore().Target.Name})
		if err != nil {
			t.Fatal(err)
		}
		before := reporttest.WorkedExampleBefore()
		want := Entry{AuditID: before.AuditID, Target: reporttest.WorkedExampleBefore().Target.Name, StartedAt: before.StartedAt, FinishedAt: before.FinishedAt,
			Status: result.AuditFail, Posture: result.PostureRed, RiskScore: before.Summary.RiskScore, Findings: 4, ToolVersion: "0.1.0-test"}
		if got[1] != want {
			t.Errorf("entry\n got %+v\nwant %+v", got[1], want)
		}
	})

	t.Run("get returns the stored result unchanged", func(t *testing.T) {
		for _, want := range []*result.Result{reporttest.WorkedExampleBefore(), reporttest.WorkedExampleAfter(), otherTarget()} {
			got, err := s.Get(ctx, want.AuditID)
			if err != nil {
				t.Fatal(err)
			}
			if mustJSON(t, got) != mustJSON(t, want) {
				t.Errorf("%s differs after a round trip", want.AuditID)
			}
		}
	})

	t.Run("get of an unknown id is ErrNotFound", func(t *testing.T) {
		_, err := s.Get(ctx, "hg-0000000000009999")
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "history list") {
			t.Fatalf("err = %v, want ErrNotFound with a hint", err)
		}
	})

	t.Run("trend shows posture over time oldest first", func(t *testing.T) {
		got, err := s.Trend(ctx, reporttest.WorkedExampleBefore().Target.Name)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("got %d points, want 2", len(got))
		}
		b, a := got[0], got[1]
		if b.AuditID != "hg-0000000000000001" || b.Posture != result.PostureRed || b.Findings != 4 {
			t.Errorf("first point %+v", b)
		}
		wantSev := map[string]int{"critical": 0, "high": 3, "medium": 1, "low": 0, "info": 0}
		if mustJSON(t, b.FailedBySeverity) != mustJSON(t, wantSev) {
			t.Errorf("before failed by severity %v, want %v", b.FailedBySeverity, wantSev)
		}
		if want := (result.ControlCounts{Total: 24, Pass: 2, Fail: 4, NotApplicable: 18}); b.Controls != want {
			t.Errorf("before controls %+v, want %+v", b.Controls, want)
		}
		if a.AuditID != "hg-0000000000000002" || a.Posture != result.PostureGreen || a.RiskScore != 0 || a.Findings != 0 {
			t.Errorf("second point %+v", a)
		}
		if want := (result.ControlCounts{Total: 24, Pass: 19, NotApplicable: 5}); a.Controls != want {
			t.Errorf("after controls %+v, want %+v", a.Controls, want)
		}
	})

	t.Run("trend of an empty target name is an error", func(t *testing.T) {
		if _, err := s.Trend(ctx, ""); err == nil {
			t.Fatal("want an error")
		}
	})
}

func TestReAdding(t *testing.T) { onEachEngine(t, testReAdding) }

func testReAdding(t *testing.T, e engine) {
	changed := reporttest.WorkedExampleAfter()
	changed.Summary.Headline = "edited by hand"

	tests := []struct {
		name    string
		second  []*result.Result
		wantErr error
		added   int
	}{
		{"adding the same audit twice is a no-op", []*result.Result{reporttest.WorkedExampleAfter()}, nil, 0},
		{"adding the same audit twice beside a new one adds only the new one", []*result.Result{reporttest.WorkedExampleAfter(), reporttest.WorkedExampleBefore()}, nil, 1},
		{"the same id with other content is a conflict", []*result.Result{changed}, ErrConflict, 0},
		{"a conflict rolls back the whole batch", []*result.Result{reporttest.WorkedExampleBefore(), changed}, ErrConflict, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := e.open(t)
			if err := add(ctx, s, reporttest.WorkedExampleAfter()); err != nil {
				t.Fatal(err)
			}
			added, err := s.AddAll(ctx, tt.second)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if len(added) != tt.added {
				t.Errorf("added %v, want %d new", added, tt.added)
			}
			all, err := s.List(ctx, Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 1+tt.added {
				t.Errorf("stored %v, want %d audits", ids(all), 1+tt.added)
			}
			got, err := s.Get(ctx, "hg-0000000000000002")
			if err != nil {
				t.Fatal(err)
			}
			if mustJSON(t, got) != mustJSON(t, reporttest.WorkedExampleAfter()) {
				t.Error("the stored result changed")
			}
		})
	}
}

func TestAddRefusesInvalidResults(t *testing.T) { onEachEngine(t, testAddRefusesInvalidResults) }

func testAddRefusesInvalidResults(t *testing.T, e engine) {
	dup := reporttest.WorkedExampleAfter()
	dup.Controls = append(dup.Controls, dup.Controls[0])
	blank := reporttest.WorkedExampleAfter()
	blank.AuditID = "  "
	farFuture := reporttest.WorkedExampleAfter()
	farFuture.StartedAt = time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)
	nulID := reporttest.WorkedExampleAfter()
	nulID.AuditID = "hg-\x00"
	nulControl := reporttest.WorkedExampleAfter()
	nulControl.Controls[0].ID = "a\x00b"

	tests := []struct {
		name string
		res  *result.Result
	}{
		{"a nil result is refused", nil},
		{"a result without an audit id is refused", blank},
		{"a result listing a control twice is refused", dup},
		{"a result whose time cannot be encoded is refused", farFuture},
		{"an audit id holding a NUL byte is refused", nulID},
		{"a control id holding a NUL byte is refused", nulControl},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := e.open(t)
			err := add(context.Background(), s, tt.res)
			if !errors.Is(err, ErrInvalidResult) {
				t.Fatalf("err = %v, want ErrInvalidResult", err)
			}
			if all, _ := s.List(context.Background(), Filter{}); len(all) != 0 {
				t.Errorf("stored %v", ids(all))
			}
		})
	}
}

// rawDB opens a SQLite file without the store, to prepare or inspect it.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenRefusesFilesThatAreNotItsHistory(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
		wantErr error
		wantMsg string
	}{
		{"a text file is not a database", func(t *testing.T, path string) {
			os.WriteFile(path, []byte(strings.Repeat("this is not sqlite\n", 400)), 0o600)
		}, ErrNotHistory, "not a SQLite database"},
		{"a result JSON given by mistake is not a database", func(t *testing.T, path string) {
			var buf bytes.Buffer
			result.Encode(&buf, reporttest.WorkedExampleBefore())
			os.WriteFile(path, buf.Bytes(), 0o600)
		}, ErrNotHistory, "not a SQLite database"},
		{"another program's database is refused", func(t *testing.T, path string) {
			db := rawDB(t, path)
			if _, err := db.Exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)`); err != nil {
				t.Fatal(err)
			}
			db.Close()
		}, ErrNotHistory, "another program"},
		{"a history written by a newer build is refused", func(t *testing.T, path string) {
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			db := rawDB(t, path)
			if _, err := db.Exec(`PRAGMA user_version = 99`); err != nil {
				t.Fatal(err)
			}
			db.Close()
		}, ErrSchemaTooNew, "upgrade hardgate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "history.db")
			tt.prepare(t, path)
			before, _ := os.ReadFile(path)
			s, err := Open(ctx, path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want %v naming the file and saying %q", err, tt.wantErr, tt.wantMsg)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Error("Open changed a file it refused")
			}
		})
	}

	t.Run("a missing directory gives an error with a hint", func(t *testing.T) {
		_, err := Open(ctx, filepath.Join(t.TempDir(), "no", "such", "history.db"))
		if err == nil || !strings.Contains(err.Error(), "directory exists") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("an empty path gives an error with a hint", func(t *testing.T) {
		_, err := Open(ctx, "")
		if err == nil || !strings.Contains(err.Error(), "--db") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestOpenCreatesAndReopensAHistory(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		file    string
		prepare func(path string)
	}{
		{"a new path becomes a history", "history.db", func(string) {}},
		{"an empty file becomes a history", "empty.db", func(p string) { os.WriteFile(p, nil, 0o600) }},
		{"a path with URI characters names that very file", "odd ?name#%20.db", func(string) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tt.file)
			tt.prepare(path)
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if err := add(ctx, s, reporttest.WorkedExampleBefore()); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatalf("the named file was not used: %v", err)
			}
			if fi.Mode().Perm()&0o077 != 0 {
				t.Errorf("history file mode %v is readable by others", fi.Mode().Perm())
			}
			s, err = Open(ctx, path)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer s.Close()
			if _, err := s.Get(ctx, "hg-0000000000000001"); err != nil {
				t.Fatalf("after reopen: %v", err)
			}
			var appID, version int
			var mode string
			var fk int
			row := s.db.QueryRowContext(ctx, `SELECT (SELECT application_id FROM pragma_application_id()),
				(SELECT user_version FROM pragma_user_version()), (SELECT journal_mode FROM pragma_journal_mode()),
				(SELECT foreign_keys FROM pragma_foreign_keys())`)
			if err := row.Scan(&appID, &version, &mode, &fk); err != nil {
				t.Fatal(err)
			}
			if appID != applicationID || version != SchemaVersion || mode != "wal" || fk != 1 {
				t.Errorf("application_id %#x user_version %d journal_mode %s foreign_keys %d", appID, version, mode, fk)
			}
		})
	}
}

func TestConcurrentWritersShareOneDatabase(t *testing.T) {
	onEachEngine(t, testConcurrentWritersShareOneDatabase)
}

// testConcurrentWritersShareOneDatabase opens a new database from several
// processes' worth of stores at once: the migrations run once, and every
// write lands.
func testConcurrentWritersShareOneDatabase(t *testing.T, e engine) {
	ctx := context.Background()
	path := e.location(t)
	const writers = 4
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(ctx, path)
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			r := reporttest.WorkedExampleBefore()
			r.AuditID = "audit-concurrent-" + string(rune('a'+i))
			r.StartedAt = r.StartedAt.Add(time.Duration(i) * time.Hour)
			if err := add(ctx, s, r); err != nil {
				errs <- err
				return
			}
			// Everyone also adds the same shared audit: exactly one stores it.
			if err := add(ctx, s, reporttest.WorkedExampleAfter()); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	all, err := s.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != writers+1 {
		t.Errorf("stored %v, want %d audits", ids(all), writers+1)
	}
}

// FuzzAddGet feeds arbitrary result documents through the strict decoder
// into the store: whatever decodes is either refused as invalid or comes
// back from Get exactly as it went in. Minimising an input is slow here
// (every run goes through SQLite), so run it with a short minimise time:
//
//	go test -run '^$' -fuzz FuzzAddGet -fuzztime 10s -fuzzminimizetime 2s ./internal/store/
func FuzzAddGet(f *testing.F) {
	for _, r := range []*result.Result{reporttest.WorkedExampleBefore(), reporttest.WorkedExampleAfter()} {
		var buf bytes.Buffer
		result.Encode(&buf, r)
		f.Add(buf.Bytes())
	}
	f.Add([]byte(`{"schema_version":"1.0","audit_id":"x\u0000y","summary":{"status":"PASS"},"controls":[{"id":"a"},{"id":"a"}]}`))
	f.Add([]byte(`{"schema_version":"1.0","audit_id":"z","started_at":"0001-01-01T00:00:00+14:00","summary":{"status":"FAIL"}}`))
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := result.Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		err = add(ctx, s, res)
		if errors.Is(err, ErrInvalidResult) || errors.Is(err, ErrConflict) {
			return
		}
		if err != nil {
			t.Fatalf("Add: %v", err)
		}
		got, err := s.Get(ctx, res.AuditID)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if mustJSON(t, got) != mustJSON(t, res) {
			t.Fatalf("round trip changed the result")
		}
		if _, err := s.List(ctx, Filter{Target: res.Target.Name}); err != nil {
			t.Fatalf("List: %v", err)
		}
	})
}

// add stores one result.
func add(ctx context.Context, s *Store, res *result.Result) error {
	_, err := s.AddAll(ctx, []*result.Result{res})
	return err
}
