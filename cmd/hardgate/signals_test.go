package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestASecondSignalExitsAtOnce sends the test process itself real
// signals: the first cancels the context, the second exits.
func TestASecondSignalExitsAtOnce(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			var stderr syncBuffer
			exited := make(chan int, 1)
			ctx, stop := interruptContext(context.Background(), &stderr, func(code int) { exited <- code })
			defer stop()
			if err := syscall.Kill(os.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("the first signal did not cancel the context")
			}
			select {
			case code := <-exited:
				t.Fatalf("the first signal exited (%d); it must only cancel", code)
			default:
			}
			if err := syscall.Kill(os.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			select {
			case code := <-exited:
				if code != 128+int(sig) {
					t.Errorf("exit code %d, want %d", code, 128+int(sig))
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the second signal did not exit")
			}
			if !strings.Contains(stderr.String(), "send it again to exit now") {
				t.Errorf("stderr %q does not say how to exit now", stderr.String())
			}
		})
	}
}

// TestAGatewayConfigThatIsNotARegularFileIsRefusedAtOnce: a FIFO without
// a writer, an endless device and a directory given as --gateway-config
// used to block the audit (or read without end); each is a usage error now.
func TestAGatewayConfigThatIsNotARegularFileIsRefusedAtOnce(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "ingestd.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path, kind string }{
		{"a named pipe", fifo, "named pipe"},
		{"/dev/zero", "/dev/zero", "character device"},
		{"a directory", dir, "directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type outcome struct {
				code   int
				stderr string
			}
			done := make(chan outcome, 1)
			go func() {
				code, _, stderr := runCLI(t, "audit", "--gateway-config", tc.path, "--gateway-kind", "ingestd", "--timeout", "1s", "--deadline", "3s")
				done <- outcome{code, stderr}
			}()
			select {
			case o := <-done:
				if o.code != exitUsage || !strings.Contains(o.stderr, "not a regular file ("+tc.kind+")") {
					t.Fatalf("exit %d, stderr:\n%s\nwant exit 2 naming a %s", o.code, o.stderr, tc.kind)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("the audit is still running 15s after it started with --deadline 3s")
			}
		})
	}
}
