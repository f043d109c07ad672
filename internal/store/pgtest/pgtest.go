// Package pgtest runs a throwaway PostgreSQL cluster for tests: Debian's
// postgresql binaries (initdb, pg_ctl) in a temporary folder, listening on a
// unix socket in that folder only, so no port is shared with anything else
// on the machine. As root the cluster runs as the postgres user (the server
// refuses to run as root).
//
// A test package that uses it calls Main from its TestMain, so the shared
// cluster stops after the last test; each test gets a database of its own
// from DSN. Without the binaries the test is skipped, and fails under
// HARDGATE_REQUIRE_INTEROP=1 (package interop).
//
// Only tests import this package.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hardgate/hardgate/internal/interop"
)

// BinDir is where Debian's postgresql 15 installs its server programs.
const BinDir = "/usr/lib/postgresql/15/bin"

// superuser is the cluster's bootstrap role.
const superuser = "hardgate"

// Cluster is a running throwaway cluster.
type Cluster struct {
	dir  string // temporary folder: data/, the socket and the log
	cred *syscall.Credential
}

// ErrUnavailable is returned by Start when the PostgreSQL programs are missing.
var ErrUnavailable = errors.New("postgresql server programs not found")

// Start creates and starts a cluster in a new temporary folder.
func Start(ctx context.Context) (*Cluster, error) {
	if _, err := os.Stat(filepath.Join(BinDir, "initdb")); err != nil {
		return nil, fmt.Errorf("%w in %s (Debian package postgresql)", ErrUnavailable, BinDir)
	}
	dir, err := os.MkdirTemp("", "hgpg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir}
	if os.Geteuid() == 0 {
		if c.cred, err = postgresUser(); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if err := c.run(ctx, "initdb", "--pgdata", c.data(), "--username", superuser, "--auth", "trust",
		"--no-sync", "--no-instructions", "--encoding", "UTF8", "--locale", "C"); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	opts := "-c listen_addresses='' -k " + dir + " -F -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=60"
	if err := c.run(ctx, "pg_ctl", "start", "--wait", "--timeout", "60", "--pgdata", c.data(),
		"--log", filepath.Join(dir, "server.log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%w\nserver log:\n%s", err, log)
	}
	return c, nil
}

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs the postgres user (Debian package postgresql): %w", err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("postgres user has ids %q/%q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// run runs one of the server programs as the cluster's owner.
func (c *Cluster) run(ctx context.Context, program string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(BinDir, program), args...)
	cmd.Dir = c.dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "HOME=" + c.dir}
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", program, err, out.String())
	}
	return nil
}

// Stop stops the server at once and removes its folder.
func (c *Cluster) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := c.run(ctx, "pg_ctl", "stop", "--wait", "--mode", "immediate", "--pgdata", c.data())
	return errors.Join(err, os.RemoveAll(c.dir))
}

// DSN is the connection string of database db over the unix socket.
func (c *Cluster) DSN(db string) string {
	return "postgres://" + superuser + "@/" + db + "?host=" + c.dir + "&sslmode=disable"
}

// The shared cluster of a test package.
var (
	shared    *Cluster
	sharedErr error
	once      sync.Once
	counter   atomic.Int64
)

// Main runs the package's tests and stops the shared cluster after them.
// Call it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest: stop cluster:", err)
		}
	}
	return code
}

// Shared returns the package's cluster, starting it on first use; it skips
// the test (fails under HARDGATE_REQUIRE_INTEROP=1) when PostgreSQL is not
// installed or does not start.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		shared, sharedErr = Start(ctx)
	})
	if sharedErr != nil {
		interop.Skip(t, "PostgreSQL (Debian package postgresql): "+sharedErr.Error())
	}
	return shared
}

// DSN creates a fresh, empty schema in the shared cluster's postgres
// database and returns a connection string whose search_path is that
// schema: each test sees an empty database of its own, and a schema is made
// in milliseconds where a database takes a checkpoint.
func DSN(t testing.TB) string {
	t.Helper()
	c := Shared(t)
	schema := fmt.Sprintf("t%d", counter.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	return c.DSN("postgres") + "&search_path=" + schema
}
