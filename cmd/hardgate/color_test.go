//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: what a program writes to tty reads as
// a terminal's output on master.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// runOnTTY runs the CLI with stdout on a terminal and returns what the
// terminal showed.
func runOnTTY(t *testing.T, args ...string) string {
	t.Helper()
	master, tty := openPTY(t)
	got := make(chan []byte)
	go func() {
		var buf bytes.Buffer
		_, err := io.Copy(&buf, master)
		if err != nil && !errors.Is(err, syscall.EIO) { // EIO: the terminal side closed
			t.Errorf("read terminal: %v", err)
		}
		got <- buf.Bytes()
	}()
	var stderr bytes.Buffer
	run(context.Background(), args, tty, &stderr)
	tty.Close()
	return strings.ReplaceAll(string(<-got), "\r\n", "\n")
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// TestColourOnATerminalOnly: diff and history colour their text on a
// terminal, never into a pipe or a file, never with NO_COLOR, and the
// colour does not disturb the columns.
func TestColourOnATerminalOnly(t *testing.T) {
	t.Setenv("TERM", "xterm-256color")
	t.Setenv("NO_COLOR", "")
	files := writeResultFiles(t)
	db := filepath.Join(t.TempDir(), "history.db")
	if code, _, stderr := runCLI(t, "history", "add", "--db", db, files.before, files.after); code != exitOK {
		t.Fatal(stderr)
	}
	commands := map[string][]string{
		"diff":          {"diff", files.after, files.before},
		"history list":  {"history", "list", "--db", db},
		"history trend": {"history", "trend", "--db", db, "--target", "plant-gateway"},
	}
	for name, args := range commands {
		t.Run(name, func(t *testing.T) {
			plain := runOnTTY(t, append(args, "--color", "never")...)
			coloured := runOnTTY(t, args...)
			if !ansi.MatchString(coloured) {
				t.Fatalf("no colour on a terminal:\n%s", coloured)
			}
			if got := ansi.ReplaceAllString(coloured, ""); got != plain {
				t.Fatalf("colour changed the text or its columns:\n%s\nwant:\n%s", got, plain)
			}
			_, piped, _ := runCLI(t, args...)
			if ansi.MatchString(piped) {
				t.Fatalf("colour into a pipe:\n%q", piped)
			}
			_, always, _ := runCLI(t, append(args, "--color", "always")...)
			if !ansi.MatchString(always) {
				t.Fatal("--color always gave no colour")
			}
			t.Setenv("NO_COLOR", "1")
			if noColour := runOnTTY(t, args...); ansi.MatchString(noColour) {
				t.Fatalf("colour despite NO_COLOR:\n%q", noColour)
			}
		})
	}
}
