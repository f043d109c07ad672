package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// stamp is what a release build writes into its binaries and packages.
type stamp struct {
	// Version is vX.Y.Z at a tag, git describe's vX.Y.Z-N-gHASH after
	// it, a Go pseudo-version before the first tag; "-dirty" for a
	// modified tree.
	Version string
	// Commit is HEAD's full id, with "-dirty" for a modified tree.
	Commit string
	// Time is SOURCE_DATE_EPOCH, or else HEAD's commit time (UTC).
	Time time.Time
}

// date is Time as the binaries print it.
func (s stamp) date() string { return s.Time.UTC().Format(time.RFC3339) }

// git runs git in dir and returns its trimmed stdout.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// repoRoot is the top of the git work tree holding the current directory.
func repoRoot(ctx context.Context) (string, error) {
	root, err := git(ctx, ".", "rev-parse", "--show-toplevel")
	if err != nil {
		return "", fmt.Errorf("find the repository root (run from inside the hardgate work tree): %w", err)
	}
	return root, nil
}

var releaseVersionRE = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$`)

// readStamp reads version, commit and time from the git work tree at root.
// override, when set, replaces the version (it must look like vX.Y.Z).
func readStamp(ctx context.Context, root, override string, getenv func(string) string) (stamp, error) {
	commit, err := git(ctx, root, "rev-parse", "HEAD")
	if err != nil {
		return stamp{}, err
	}
	status, err := git(ctx, root, "status", "--porcelain")
	if err != nil {
		return stamp{}, err
	}
	dirty := status != ""
	t, err := sourceDate(ctx, root, getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return stamp{}, err
	}
	version := override
	switch {
	case override != "":
		if !releaseVersionRE.MatchString(override) {
			return stamp{}, fmt.Errorf("-version %q: want vX.Y.Z or vX.Y.Z-PRERELEASE", override)
		}
	default:
		version, err = git(ctx, root, "describe", "--tags", "--match", "v[0-9]*", "--abbrev=12")
		if err != nil {
			// No release tag yet: a Go pseudo-version of HEAD.
			ct, cerr := git(ctx, root, "log", "-1", "--format=%ct")
			if cerr != nil {
				return stamp{}, cerr
			}
			sec, cerr := strconv.ParseInt(ct, 10, 64)
			if cerr != nil {
				return stamp{}, fmt.Errorf("commit time %q: %w", ct, cerr)
			}
			version = "v0.0.0-" + time.Unix(sec, 0).UTC().Format("20060102150405") + "-" + commit[:12]
		}
	}
	if dirty {
		version += "-dirty"
		commit += "-dirty"
	}
	return stamp{Version: version, Commit: commit, Time: t}, nil
}

// sourceDate is SOURCE_DATE_EPOCH when set (https://reproducible-builds.org/specs/source-date-epoch/),
// else the commit time of HEAD.
func sourceDate(ctx context.Context, root, epoch string) (time.Time, error) {
	if epoch == "" {
		ct, err := git(ctx, root, "log", "-1", "--format=%ct")
		if err != nil {
			return time.Time{}, err
		}
		epoch = ct
	}
	sec, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil || sec < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since 1970 (a non-negative integer)", epoch)
	}
	return time.Unix(sec, 0).UTC(), nil
}

var (
	describeRE = regexp.MustCompile(`^(.+)-([0-9]+)-g([0-9a-f]{7,40})$`)
	pseudoRE   = regexp.MustCompile(`^0\.0\.0-([0-9]{14})-([0-9a-f]{12})$`)
	semverRE   = regexp.MustCompile(`^([0-9]+\.[0-9]+\.[0-9]+)(?:-([0-9A-Za-z.]+))?$`)
	debianRE   = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*$`)
)

// errVersion is returned for a version the Debian mapping does not know.
var errVersion = errors.New("not a release tag, git describe or pseudo-version")

// debVersion maps a stamp version to a Debian package version that sorts
// the same way: v1.2.3 → 1.2.3, v1.2.3-rc.1 → 1.2.3~rc.1 (before 1.2.3),
// v1.2.3-4-gHASH → 1.2.3+git4.HASH (after 1.2.3), the pseudo-version
// v0.0.0-TIME-HASH → 0.0.0~gitTIME.HASH, and -dirty → +dirty.
func debVersion(v string) (string, error) {
	s, dirty := strings.CutSuffix(strings.TrimPrefix(v, "v"), "-dirty")
	var out string
	if m := pseudoRE.FindStringSubmatch(s); m != nil {
		out = "0.0.0~git" + m[1] + "." + m[2]
	} else if m := describeRE.FindStringSubmatch(s); m != nil {
		base, err := debVersion("v" + m[1])
		if err != nil {
			return "", fmt.Errorf("version %q: %w", v, errVersion)
		}
		out = base + "+git" + m[2] + "." + m[3]
	} else if m := semverRE.FindStringSubmatch(s); m != nil {
		out = m[1]
		if m[2] != "" {
			out += "~" + m[2]
		}
	} else {
		return "", fmt.Errorf("version %q: %w", v, errVersion)
	}
	if dirty {
		out += "+dirty"
	}
	if !debianRE.MatchString(out) {
		return "", fmt.Errorf("version %q maps to %q: %w", v, out, errVersion)
	}
	return out, nil
}
