package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/store/pgtest"
)

// columns lists "table.column type" for every table of the store's schema,
// with the engine's type spelling folded to one vocabulary.
func columns(t *testing.T, s *Store) []string {
	t.Helper()
	ctx := context.Background()
	q := `SELECT m.name, p.name, p.type FROM sqlite_schema m, pragma_table_info(m.name) p
		WHERE m.type = 'table' ORDER BY m.name, p.cid`
	if s.dialect == postgresDialect {
		q = `SELECT table_name, column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`
	}
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	fold := map[string]string{"INTEGER": "int", "bigint": "int", "TEXT": "text", "text": "text", "BLOB": "bytes", "bytea": "bytes"}
	var out []string
	for rows.Next() {
		var table, col, typ string
		if err := rows.Scan(&table, &col, &typ); err != nil {
			t.Fatal(err)
		}
		if table == "hardgate_meta" {
			continue // PostgreSQL's stand-in for SQLite's application id and user_version
		}
		out = append(out, table+"."+col+" "+fold[typ])
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBothEnginesHoldOneSchema(t *testing.T) {
	lite, pg := engines[0].open(t), engines[1].open(t)
	a, b := columns(t, lite), columns(t, pg)
	if !slices.Equal(a, b) {
		t.Errorf("schemas differ:\nsqlite   %v\npostgres %v", a, b)
	}
	for _, want := range []string{"audits.result_json bytes", "baseline_changes.changed_by text", "alerts.payload bytes", "runs.state text"} {
		if !slices.Contains(a, want) {
			t.Errorf("schema lacks %s: %v", want, a)
		}
	}
	for _, s := range []*Store{lite, pg} {
		v, err := s.schemaVersion(context.Background(), s.db)
		if err != nil || v != SchemaVersion {
			t.Errorf("%s schema version %d (%v), want %d", s.Engine(), v, err, SchemaVersion)
		}
	}
}

// atVersion1 prepares a location holding a history written by a build that
// knew only the first migration, with one audit in it.
func atVersion1(t *testing.T, e engine) string {
	t.Helper()
	ctx := context.Background()
	loc := e.location(t)
	saved := migrations
	migrations = migrations[:1]
	s, err := Open(ctx, loc)
	migrations = saved
	if err != nil {
		t.Fatal(err)
	}
	if err := add(ctx, s, reporttest.WorkedExampleBefore()); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.schemaVersion(ctx, s.db); v != 1 {
		t.Fatalf("prepared version %d, want 1", v)
	}
	s.Close()
	return loc
}

func TestAnOlderHistoryIsMigratedForward(t *testing.T) {
	onEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s, err := Open(ctx, atVersion1(t, e))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if v, _ := s.schemaVersion(ctx, s.db); v != SchemaVersion {
			t.Errorf("version %d after open, want %d", v, SchemaVersion)
		}
		if _, err := s.Get(ctx, "hg-0000000000000001"); err != nil {
			t.Errorf("the audit stored before the migration: %v", err)
		}
		if err := s.SetBaseline(ctx, BaselineChange{Target: "plant-gateway", AuditID: "hg-0000000000000001", By: "test", Reason: "after migration"}); err != nil {
			t.Errorf("the new tables are usable: %v", err)
		}
	})
}

func TestOpenRefusesPostgresDatabasesThatAreNotItsHistory(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		prepare string
		wantErr error
		wantMsg string
	}{
		{"another program's tables are refused", `CREATE TABLE customers (id int primary key, name text)`, ErrNotHistory, "another program"},
		{"another application's marker is refused", `CREATE TABLE hardgate_meta (key text primary key, value text not null);
			INSERT INTO hardgate_meta VALUES ('application', 'something-else'), ('schema_version', '1')`, ErrNotHistory, "something-else"},
		{"a history written by a newer build is refused", `SELECT 1`, ErrSchemaTooNew, "upgrade hardgate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := pgtest.DSN(t)
			if errors.Is(tt.wantErr, ErrSchemaTooNew) {
				s, err := Open(ctx, dsn)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.db.ExecContext(ctx, `UPDATE hardgate_meta SET value = '99' WHERE key = 'schema_version'`); err != nil {
					t.Fatal(err)
				}
				s.Close()
			} else {
				conn, err := pgx.Connect(ctx, dsn)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := conn.Exec(ctx, tt.prepare); err != nil {
					t.Fatal(err)
				}
				conn.Close(ctx)
			}
			s, err := Open(ctx, dsn)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("err = %v, want %v saying %q", err, tt.wantErr, tt.wantMsg)
			}
		})
	}
}

func TestOpenRefusesPostgresToAnotherHostWithoutVerifiedTLS(t *testing.T) {
	tests := []struct {
		name string
		url  string
		ok   bool
	}{
		{"a unix socket needs no TLS", "postgres://hg@/history?host=/run/postgresql", true},
		{"loopback needs no TLS", "postgres://hg@127.0.0.1:5432/history?sslmode=disable", true},
		{"localhost needs no TLS", "postgres://hg@localhost/history", true},
		{"another host with verify-full is allowed", "postgres://hg@db.example.net/history?sslmode=verify-full", true},
		{"another host without sslmode is refused (prefer falls back to plaintext)", "postgres://hg@db.example.net/history", false},
		{"another host with sslmode=require is refused (no verification)", "postgres://hg@db.example.net/history?sslmode=require", false},
		{"another host with sslmode=verify-ca is refused (no host name check)", "postgres://hg@db.example.net/history?sslmode=verify-ca", false},
		{"another host with sslmode=disable is refused", "postgresql://hg:pw@10.0.0.5/history?sslmode=disable", false},
		{"a second host without TLS is refused", "postgres://hg@127.0.0.1,db.example.net/history?sslmode=disable", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := pgx.ParseConfig(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			err = CheckPostgresTransport(&cfg.Config)
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok {
				if !errors.Is(err, ErrInsecurePostgres) || !strings.Contains(err.Error(), "verify-full") {
					t.Errorf("err = %v, want ErrInsecurePostgres with a hint", err)
				}
				// Open refuses before any connection, and never prints the password.
				_, err := Open(context.Background(), tt.url)
				if !errors.Is(err, ErrInsecurePostgres) || strings.Contains(err.Error(), ":pw@") {
					t.Errorf("Open err = %v", err)
				}
			}
		})
	}
}

func TestRebindNumbersPlaceholdersForPostgres(t *testing.T) {
	pg := &Store{dialect: postgresDialect}
	lite := &Store{dialect: sqliteDialect}
	q := `SELECT a FROM t WHERE (?1 = '' OR b = ?1) LIMIT ?2`
	if got, want := pg.rebind(q), `SELECT a FROM t WHERE ($1 = '' OR b = $1) LIMIT $2`; got != want {
		t.Errorf("postgres: %s\nwant      %s", got, want)
	}
	if got := lite.rebind(q); got != q {
		t.Errorf("sqlite changed the query: %s", got)
	}
	if got, want := pg.rebind(`VALUES (?, ?, ?)`), `VALUES ($1, $2, $3)`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
