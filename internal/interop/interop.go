// Package interop decides whether a test that needs a real third-party
// program (nginx, mosquitto, sslscan, testssl.sh, chromium, ...) runs.
//
// Plain "go test ./..." on a machine without the program skips the test with
// a message naming the Debian package. CI sets HARDGATE_REQUIRE_INTEROP=1
// (see .ci/run), and then a missing program fails the test instead, so an
// interop test can never silently skip in CI.
//
// Only tests import this package, so deadcode without -test lists its
// functions as unreachable; "deadcode -test ./..." reports nothing here.
package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RequireEnv is the environment variable that turns skips into failures.
const RequireEnv = "HARDGATE_REQUIRE_INTEROP"

// Required reports whether interop tests must run (CI).
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Binary returns the path of program, or skips (fails under CI) the test
// with a message naming the Debian package that provides it.
func Binary(tb testing.TB, program, debianPackage string) string {
	tb.Helper()
	path, err := exec.LookPath(program)
	if err == nil {
		return path
	}
	// Daemons such as nginx and mosquitto live in /usr/sbin, which is not
	// on an ordinary user's PATH.
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		if p, err := exec.LookPath(filepath.Join(dir, program)); err == nil {
			return p
		}
	}
	msg := "interop test needs " + program + " (Debian package " + debianPackage + "): apt-get install " + debianPackage
	if Required() {
		tb.Fatalf("%s; %s=1 forbids skipping", msg, RequireEnv)
	}
	tb.Skip(msg)
	return ""
}

// Skip skips (fails under CI) the test for a reason other than a missing program.
func Skip(tb testing.TB, reason string) {
	tb.Helper()
	if Required() {
		tb.Fatalf("interop test cannot run: %s; %s=1 forbids skipping", reason, RequireEnv)
	}
	tb.Skip("interop test skipped: " + reason)
}
