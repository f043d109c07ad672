package audit

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

// TestAnIncludeDirHoldingAFIFOOrADeviceIsRefusedNotWaitedOn: mosquitto.conf
// pulls files in through include_dir; a named pipe there (a FIFO without a
// writer blocks an ordinary open forever), a symlink to /dev/zero, or an
// include_dir that is itself a pipe must end the config read with an error
// the result names, well within the audit's deadline.
func TestAnIncludeDirHoldingAFIFOOrADeviceIsRefusedNotWaitedOn(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, confD string)
		want  string
	}{
		{"a FIFO named like a config file", func(t *testing.T, confD string) {
			mkdir(t, confD)
			mkfifo(t, filepath.Join(confD, "a.conf"))
		}, "named pipe"},
		{"a symlink to /dev/zero", func(t *testing.T, confD string) {
			mkdir(t, confD)
			if err := os.Symlink("/dev/zero", filepath.Join(confD, "zero.conf")); err != nil {
				t.Fatal(err)
			}
		}, "character device"},
		{"an include_dir that is a FIFO", func(t *testing.T, confD string) { mkfifo(t, confD) }, "not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, filepath.Join(dir, "conf.d"))
			conf := filepath.Join(dir, "mosquitto.conf")
			if err := os.WriteFile(conf, []byte("listener 1883 127.0.0.1\nallow_anonymous false\ninclude_dir conf.d\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			tgt := &spec.Target{Gateway: spec.Gateway{ConfigFile: conf, Kind: spec.KindMosquitto}}
			tgt.Complete()
			tgt.Timeouts.Audit = spec.Duration(5 * time.Second)
			done := make(chan *result.Result, 1)
			go func() {
				res, err := Run(context.Background(), tgt, testOptions())
				if err != nil {
					t.Errorf("Run: %v", err)
				}
				done <- res
			}()
			var res *result.Result
			select {
			case res = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("the audit is still reading its config 20s after it started (deadline 5s)")
			}
			if res == nil {
				return
			}
			c := control(t, res, "mqtt_broker.plaintext_listener")
			if c.Status != result.StatusError || !strings.Contains(c.Reason, tc.want) {
				t.Fatalf("plaintext_listener = %s (%s), want error naming %q", c.Status, c.Reason, tc.want)
			}
		})
	}
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
}

func mkfifo(t *testing.T, p string) {
	t.Helper()
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
}
