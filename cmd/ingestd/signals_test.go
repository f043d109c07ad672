package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hardgate/hardgate/internal/gateway/auth"
)

// TestSignals checks that SIGHUP reloads the tokens file (a new device is
// accepted, a revoked one refused, a broken file keeps the old set) and that
// SIGTERM drains and exits 0.
func TestSignals(t *testing.T) {
	t.Parallel()
	bin := buildIngestd(t)
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "log:\n  format: json\n")
	tokens := filepath.Join(dir, "tokens")
	old, err := auth.AddToken(tokens, "sensor-1")
	if err != nil {
		t.Fatal(err)
	}
	c := startChild(t, bin, cfgPath)
	client := clientFor(t, filepath.Join(dir, "ca.pem"))
	post := func(token string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "https://"+c.addr+"/v1/ingest", strings.NewReader(`{"a":1}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	hup := func(wantLog string) {
		t.Helper()
		if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitLog(t, c, wantLog)
	}
	fresh, err := auth.AddToken(tokens, "sensor-2")
	if err != nil {
		t.Fatal(err)
	}
	if code := post(fresh); code != 401 {
		t.Fatalf("new token before SIGHUP: %d, want 401", code)
	}
	hup(`"msg":"tokens reloaded"`)
	if code := post(fresh); code != 202 {
		t.Fatalf("new token after SIGHUP: %d, want 202", code)
	}
	if _, err := auth.RevokeDevice(tokens, "sensor-1"); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(tokens, "broken line\n"); err != nil {
		t.Fatal(err)
	}
	hup(`"msg":"token reload failed; keeping the previous tokens"`)
	if code := post(old); code != 202 {
		t.Fatalf("old token after a failed reload: %d, want 202", code)
	}
	c.stop(t, syscall.SIGTERM)
	if code := c.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0:\n%s", code, c.log())
	}
	if !strings.Contains(c.log(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", c.log())
	}
}
