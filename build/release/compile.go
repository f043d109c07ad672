package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// target is one platform of the release.
type target struct {
	GOARCH string
	GOARM  string
	// Name is the platform in file names: amd64, arm64, armv7.
	Name string
	// Deb is the Debian architecture: amd64, arm64, armhf.
	Deb string
}

// targets are the release platforms, all linux.
var targets = []target{
	{GOARCH: "amd64", Name: "amd64", Deb: "amd64"},
	{GOARCH: "arm64", Name: "arm64", Deb: "arm64"},
	{GOARCH: "arm", GOARM: "7", Name: "armv7", Deb: "armhf"},
}

// programs are the commands under cmd/ that the release ships.
var programs = []string{"hardgate", "ingestd"}

// versionPkg is the package whose variables the release stamps.
const versionPkg = "github.com/hardgate/hardgate/internal/version"

// binaryName is a program's file name in dist/, e.g. ingestd-linux-armv7.
func binaryName(prog string, t target) string { return prog + "-linux-" + t.Name }

// ldflags strips the symbol table and DWARF, empties the build id and
// stamps the version package.
func ldflags(st stamp) string {
	return strings.Join([]string{
		"-s", "-w", "-buildid=",
		"-X", versionPkg + ".version=" + st.Version,
		"-X", versionPkg + ".commit=" + st.Commit,
		"-X", versionPkg + ".date=" + st.date(),
	}, " ")
}

// buildArgs are the go build flags of every release binary. They are on
// the command line, so GOFLAGS (from the environment or "go env -w")
// cannot change them. -buildvcs=false: the commit and date are stamped
// through -ldflags instead, because go build records vcs.* only in a
// clone (a .git folder), not in a "git worktree" checkout (a .git file),
// and the binaries must not depend on how the source was checked out.
func buildArgs(st stamp, out, prog string) []string {
	return []string{"build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags(st), "-o", out, "./cmd/" + prog}
}

// buildEnv is the environment of a release go build: the caller's, with
// every variable that changes the output pinned: cgo off, the target,
// baseline microarchitectures, no experiments, and of GOFLAGS only -mod
// (how go.mod may be updated), which cannot change the binary.
func buildEnv(base []string, t target) []string {
	pinned := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + t.GOARCH, "GOAMD64=v1", "GOARM64=v8.0"}
	if t.GOARM != "" {
		pinned = append(pinned, "GOARM="+t.GOARM)
	}
	goflags := "-mod=readonly"
	env := make([]string, 0, len(base)+len(pinned)+1)
	for _, kv := range base {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "CGO_ENABLED", "GOOS", "GOARCH", "GOARM", "GOAMD64", "GOARM64", "GOEXPERIMENT":
		case "GOFLAGS":
			for _, f := range strings.Fields(v) {
				if strings.HasPrefix(f, "-mod=") {
					goflags = f
				}
			}
		default:
			env = append(env, kv)
		}
	}
	return append(append(env, pinned...), "GOFLAGS="+goflags)
}

// goEnv reads one variable of "go env" in dir.
func goEnv(ctx context.Context, dir, key string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "env", key)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", key, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// compile builds cmd/prog of the module at root for t into out.
func compile(ctx context.Context, root, prog string, t target, st stamp, out string) error {
	cmd := exec.CommandContext(ctx, "go", buildArgs(st, out, prog)...)
	cmd.Dir = root
	cmd.Env = buildEnv(os.Environ(), t)
	var stderr bytes.Buffer
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for linux/%s: %w\n%s", prog, t.Name, err, stderr.String())
	}
	return nil
}

// hostBinary returns a build of prog that runs here, to read its --help:
// the release binary when this is one of the targets, else a fresh build.
func hostBinary(ctx context.Context, root, prog, dist, work string, st stamp, goos, goarch string) (string, error) {
	for _, t := range targets {
		if goos == "linux" && t.GOARCH == goarch {
			return filepath.Join(dist, binaryName(prog, t)), nil
		}
	}
	out := filepath.Join(work, "host-"+prog)
	cmd := exec.CommandContext(ctx, "go", buildArgs(st, out, prog)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s for this host: %w\n%s", prog, err, b)
	}
	return out, nil
}
