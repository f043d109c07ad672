// Command release builds hardgate's release into dist/:
//
//   - static binaries of hardgate and ingestd (CGO_ENABLED=0, -trimpath,
//     -buildid=, stripped) for linux/amd64, linux/arm64 and linux/arm
//     (GOARM=7), stamped with the version, commit and date from git;
//   - a CycloneDX SBOM per binary (cyclonedx-gomod, from the binary's own
//     build information);
//   - .deb packages hardgate and ingestd for amd64, arm64 and armhf (nfpm),
//     with man pages and bash completions generated from the programs'
//     --help, and ingestd's systemd unit, user, config and maintainer
//     scripts from deploy/;
//   - SHA256SUMS over all of them.
//
// Two runs from the same commit give byte-identical files: every time
// stamped anywhere is SOURCE_DATE_EPOCH, or else the commit's time.
//
// Usage, from the repository root (build/ is its own Go module, so that
// the packaging libraries never enter the product's module graph):
//
//	go run -C build ./release [-out DIR] [-version vX.Y.Z]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	defaultDist = "dist"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `Usage: go run -C build ./release [-out DIR] [-version vX.Y.Z]

Builds the release into DIR (default dist/ at the repository root; a
relative DIR is taken from the repository root): static binaries for
linux/amd64, linux/arm64 and linux/arm (GOARM=7), a CycloneDX SBOM per
binary, .deb packages hardgate and ingestd for amd64, arm64 and armhf, and
SHA256SUMS. DIR is replaced whole, and only when it is empty or holds a
previous release (a SHA256SUMS file).

The version is "git describe --tags --match 'v[0-9]*'" (a pseudo-version
before the first tag), the commit is HEAD (with -dirty for a modified
tree), and the date is SOURCE_DATE_EPOCH or else the commit's time, so two
builds of one commit are byte-identical.

Flags:
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	out := fs.String("out", defaultDist, "output `DIR`")
	override := fs.String("version", "", "release `VERSION` (vX.Y.Z) instead of git describe")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "release: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	root, err := repoRoot(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "release: %v\n", err)
		return exitFailed
	}
	st, err := readStamp(ctx, root, *override, os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "release: %v\n", err)
		return exitUsage
	}
	dist := *out
	if !filepath.IsAbs(dist) {
		dist = filepath.Join(root, dist)
	}
	files, err := build(ctx, root, dist, st, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "release: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "release %s (commit %s, date %s) in %s:\n", st.Version, st.Commit, st.date(), dist)
	for _, f := range files {
		fmt.Fprintf(stdout, "  %s\n", f)
	}
	return exitOK
}
