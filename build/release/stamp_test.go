package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDebVersion(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"a release tag loses its v", "v1.2.3", "1.2.3"},
		{"a prerelease sorts before its release", "v1.2.3-rc.1", "1.2.3~rc.1"},
		{"commits after a tag sort after it", "v1.2.3-4-g0123456789ab", "1.2.3+git4.0123456789ab"},
		{"commits after a prerelease tag", "v1.2.3-rc.1-2-gabcdef0", "1.2.3~rc.1+git2.abcdef0"},
		{"a pseudo-version before the first tag sorts before 0.0.0", "v0.0.0-20260102030405-0123456789ab", "0.0.0~git20260102030405.0123456789ab"},
		{"a dirty tree is marked", "v1.2.3-4-g0123456789ab-dirty", "1.2.3+git4.0123456789ab+dirty"},
		{"a dirty pseudo-version is marked", "v0.0.0-20260102030405-0123456789ab-dirty", "0.0.0~git20260102030405.0123456789ab+dirty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := debVersion(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("debVersion(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "v1.2", "latest", "v1.2.3-x_y", "v1.2.3 ", "v1.2.3-4-gXYZ", "vv1.2.3"} {
		t.Run("rejects "+strings.TrimSpace(bad+" (bad)"), func(t *testing.T) {
			if got, err := debVersion(bad); !errors.Is(err, errVersion) {
				t.Errorf("debVersion(%q) = %q, %v; want errVersion", bad, got, err)
			}
		})
	}
}

// gitRepo makes a repository with one commit at a fixed time.
func gitRepo(t *testing.T) (string, func(args ...string)) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE=2026-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2026-01-02T03:04:05Z",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid",
			"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run("init", "-q")
	os.WriteFile(filepath.Join(dir, "a"), []byte("a\n"), 0o644)
	run("add", "a")
	run("commit", "-q", "-m", "one")
	return dir, run
}

func TestReadStamp(t *testing.T) {
	ctx := context.Background()
	noEnv := func(string) string { return "" }
	commitTime := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	t.Run("before the first tag the version is a pseudo-version at the commit time", func(t *testing.T) {
		dir, _ := gitRepo(t)
		st, err := readStamp(ctx, dir, "", noEnv)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(st.Version, "v0.0.0-20260102030405-") || len(st.Version) != len("v0.0.0-20260102030405-")+12 {
			t.Errorf("version %q", st.Version)
		}
		if !strings.HasPrefix(st.Version[len(st.Version)-12:], st.Commit[:12]) || len(st.Commit) != 40 {
			t.Errorf("version %q does not end in commit %q", st.Version, st.Commit)
		}
		if !st.Time.Equal(commitTime) || st.date() != "2026-01-02T03:04:05Z" {
			t.Errorf("time %v, date %q", st.Time, st.date())
		}
	})
	t.Run("at a tag the version is the tag, after it git describe", func(t *testing.T) {
		dir, run := gitRepo(t)
		run("tag", "v0.3.0")
		st, err := readStamp(ctx, dir, "", noEnv)
		if err != nil || st.Version != "v0.3.0" {
			t.Fatalf("at the tag: %q, %v", st.Version, err)
		}
		os.WriteFile(filepath.Join(dir, "b"), []byte("b\n"), 0o644)
		run("add", "b")
		run("commit", "-q", "-m", "two")
		st, err = readStamp(ctx, dir, "", noEnv)
		if err != nil || !strings.HasPrefix(st.Version, "v0.3.0-1-g") {
			t.Fatalf("after the tag: %q, %v", st.Version, err)
		}
	})
	t.Run("a modified tree is dirty in version and commit", func(t *testing.T) {
		dir, _ := gitRepo(t)
		os.WriteFile(filepath.Join(dir, "a"), []byte("changed\n"), 0o644)
		st, err := readStamp(ctx, dir, "", noEnv)
		if err != nil || !strings.HasSuffix(st.Version, "-dirty") || !strings.HasSuffix(st.Commit, "-dirty") {
			t.Fatalf("%+v, %v", st, err)
		}
	})
	t.Run("SOURCE_DATE_EPOCH replaces the commit time", func(t *testing.T) {
		dir, _ := gitRepo(t)
		st, err := readStamp(ctx, dir, "", func(k string) string {
			if k == "SOURCE_DATE_EPOCH" {
				return "1700000000"
			}
			return ""
		})
		if err != nil || st.date() != "2023-11-14T22:13:20Z" {
			t.Fatalf("date %q, %v", st.date(), err)
		}
	})
	t.Run("a SOURCE_DATE_EPOCH that is not seconds is an error", func(t *testing.T) {
		dir, _ := gitRepo(t)
		for _, bad := range []string{"yesterday", "-5", "1.5"} {
			if _, err := readStamp(ctx, dir, "", func(string) string { return bad }); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
				t.Errorf("SOURCE_DATE_EPOCH=%q: err %v", bad, err)
			}
		}
	})
	t.Run("-version overrides git describe and must look like vX.Y.Z", func(t *testing.T) {
		dir, _ := gitRepo(t)
		st, err := readStamp(ctx, dir, "v2.0.0", noEnv)
		if err != nil || st.Version != "v2.0.0" {
			t.Fatalf("%q, %v", st.Version, err)
		}
		if _, err := readStamp(ctx, dir, "2.0", noEnv); err == nil {
			t.Error("-version 2.0 accepted")
		}
	})
}
