package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// ErrInsecurePostgres is returned by Open for a PostgreSQL URL that would
// reach a server on another host without verified TLS.
var ErrInsecurePostgres = errors.New("refusing a PostgreSQL connection to another host without verified TLS")

// openPostgres opens the PostgreSQL history at the URL location.
func openPostgres(ctx context.Context, location string) (*Store, error) {
	shown := Redact(location)
	cfg, err := pgx.ParseConfig(location)
	if err != nil {
		return nil, fmt.Errorf("open history %s: %w", shown, err)
	}
	if err := CheckPostgresTransport(&cfg.Config); err != nil {
		return nil, fmt.Errorf("open history %s: %w", shown, err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(8)
	s := &Store{db: db, path: shown, dialect: postgresDialect}
	if err := s.initPostgres(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// CheckPostgresURL parses a PostgreSQL URL and checks its transport (see
// CheckPostgresTransport) without connecting.
func CheckPostgresURL(location string) error {
	cfg, err := pgconn.ParseConfig(location)
	if err != nil {
		return fmt.Errorf("parse PostgreSQL URL: %w", err)
	}
	return CheckPostgresTransport(cfg)
}

// CheckPostgresTransport refuses a connection that could send the password
// or the results in the clear, or to an unverified server: every host that
// is not a unix socket or a loopback address must use sslmode=verify-full
// (TLS verified against sslrootcert, host name checked, no plaintext
// fallback).
func CheckPostgresTransport(cfg *pgconn.Config) error {
	check := func(host string, tlsOn, verified bool) error {
		if isLocalHost(host) {
			return nil
		}
		if !tlsOn || !verified {
			return fmt.Errorf("%w: host %s needs sslmode=verify-full (and sslrootcert=CA.pem for a private CA)", ErrInsecurePostgres, host)
		}
		return nil
	}
	tlsOn, verified := cfg.TLSConfig != nil, cfg.TLSConfig != nil && !cfg.TLSConfig.InsecureSkipVerify
	if err := check(cfg.Host, tlsOn, verified); err != nil {
		return err
	}
	for _, fb := range cfg.Fallbacks {
		if err := check(fb.Host, fb.TLSConfig != nil, fb.TLSConfig != nil && !fb.TLSConfig.InsecureSkipVerify); err != nil {
			return err
		}
	}
	return nil
}

// isLocalHost reports whether host is a unix socket folder or a loopback
// name or address.
func isLocalHost(host string) bool {
	if strings.HasPrefix(host, "/") || host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Redact hides the password of a PostgreSQL URL.
func Redact(location string) string {
	u, err := url.Parse(location)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// initPostgres checks that the database is empty or a hardgate history and
// applies pending migrations.
func (s *Store) initPostgres(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("open history %s: connect: %w (is the server running and the user allowed by pg_hba.conf?)", s.path, err)
	}
	var hasMeta bool
	var tables int
	err := s.db.QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'hardgate_meta'),
		(SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema())`).Scan(&hasMeta, &tables)
	if err != nil {
		return fmt.Errorf("open history %s: %w", s.path, err)
	}
	if !hasMeta && tables > 0 {
		return fmt.Errorf("open history %s: %w: the schema holds %d tables of another program; use an empty database or schema", s.path, ErrNotHistory, tables)
	}
	if hasMeta {
		var app string
		if err := s.db.QueryRowContext(ctx, `SELECT value FROM hardgate_meta WHERE key = 'application'`).Scan(&app); err != nil || app != "hardgate-history" {
			return fmt.Errorf("open history %s: %w: hardgate_meta names application %q", s.path, ErrNotHistory, app)
		}
	}
	version, err := s.schemaVersion(ctx, s.db)
	if err != nil {
		return fmt.Errorf("open history %s: %w", s.path, err)
	}
	if version > len(migrations) {
		return fmt.Errorf("open history %s: %w: schema version %d, this build knows %d (upgrade hardgate)", s.path, ErrSchemaTooNew, version, len(migrations))
	}
	return s.migrate(ctx)
}
