package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/auth"
)

func TestTokenLifecycleCommands(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "")
	tokensFile := filepath.Join(dir, "tokens")
	mustRun := func(args ...string) (string, string) {
		t.Helper()
		code, out, errOut := runCmd(args...)
		if code != 0 {
			t.Fatalf("ingestd %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out, errOut
	}
	first, _ := mustRun("token", "add", "--config", cfgPath, "--device", "sensor-1", "--expires", "90d")
	first = strings.TrimSpace(first)
	mustRun("token", "add", "--config", cfgPath, "--device", "sensor-2", "--expires", "2099-01-31")
	recs, err := auth.ReadFile(tokensFile)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(recs[0].Expires); d < 89*24*time.Hour || d > 91*24*time.Hour {
		t.Errorf("--expires 90d stored %s", recs[0].Expires)
	}
	if !recs[1].Expires.Equal(time.Date(2099, 1, 31, 0, 0, 0, 0, time.UTC)) || recs[1].Created.IsZero() {
		t.Errorf("--expires 2099-01-31 stored %+v", recs[1])
	}

	second, errOut := mustRun("token", "rotate", "--config", cfgPath, "--device", "sensor-1", "--overlap", "2h")
	second = strings.TrimSpace(second)
	if !strings.HasPrefix(second, auth.TokenPrefix) || second == first || !strings.Contains(errOut, "now expires") {
		t.Fatalf("rotate printed %q, stderr %q", second, errOut)
	}
	a, err := auth.NewAuthenticator(tokensFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{first, second} {
		if res, err := a.Verify(context.Background(), tok); err != nil || res.Device != "sensor-1" {
			t.Fatalf("during the overlap: %+v, %v", res, err)
		}
	}
	later, err := auth.New(tokensFile, auth.Options{Now: func() time.Time { return time.Now().Add(2*time.Hour + time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := later.Verify(context.Background(), first); err == nil {
		t.Error("the rotated token still works after the overlap")
	}
	if _, err := later.Verify(context.Background(), second); err != nil {
		t.Errorf("the new token after the overlap: %v", err)
	}
	if _, err := a.Persist(); err != nil { // saves last uses, as a running ingestd does
		t.Fatal(err)
	}

	list, _ := mustRun("token", "list", "--config", cfgPath)
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "DEVICE") || !strings.Contains(lines[0], "LAST USED") {
		t.Fatalf("list:\n%s", list)
	}
	for _, tok := range []string{first, second} {
		secret := tok[strings.LastIndex(tok, ".")+1:]
		if strings.Contains(list, secret) || strings.Contains(list, "$sha256$") {
			t.Fatalf("list shows a secret or a digest:\n%s", list)
		}
	}
	stamp := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
	// Both were made in the same second, so their order is by id: the
	// rotated one shows created, expires and last use, the new one no expiry.
	var stamps []int
	for _, l := range lines[1:3] {
		if !strings.HasPrefix(l, "sensor-1") || !strings.Contains(l, "sha256") {
			t.Errorf("not a sensor-1 sha256 row: %q", l)
		}
		stamps = append(stamps, len(stamp.FindAllString(l, -1)))
	}
	if slices.Sort(stamps); fmt.Sprint(stamps) != "[2 3]" {
		t.Errorf("sensor-1 rows show %v times, want one with 3 (created, expires, last use) and one with 2:\n%s", stamps, list)
	}
	if !strings.HasSuffix(lines[3], " -") {
		t.Errorf("sensor-2 was never used, its last use should be '-': %q", lines[3])
	}
}

func TestTokenCommandsRefuseBadInput(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"an expiry in the past is refused", []string{"add", "--device", "d1", "--expires", "2001-01-01"}, "not in the future"},
		{"a nonsense expiry is refused", []string{"add", "--device", "d1", "--expires", "soon"}, "want a duration"},
		{"a zero day expiry is refused", []string{"add", "--device", "d1", "--expires", "0d"}, "number of days"},
		{"rotate needs a device", []string{"rotate"}, "--device ID is required"},
		{"migrate needs a tokens file", []string{"migrate"}, "--tokens FILE is required"},
		{"list takes no device", []string{"list", "--device", "x"}, "flag provided but not defined"},
		{"an unknown action is refused", []string{"renew"}, "unknown action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"token"}, tt.args...)
			if tt.args[0] != "renew" {
				args = append(args, "--config", cfgPath)
			}
			code, _, errOut := runCmd(args...)
			if code != exitUsage || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errOut, tt.want)
			}
		})
	}
}

func TestTokenMigrateCommand(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "")
	tokensFile := filepath.Join(dir, "tokens")
	tok := auth.TokenPrefix + "legacyid01." + strings.Repeat("k", 43)
	h, err := auth.HashArgon2id(tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokensFile, []byte("sensor-1 legacyid01 "+h+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(dir, "provisioned.txt")
	if err := os.WriteFile(list, []byte("# from provisioning\n"+tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd("token", "migrate", "--config", cfgPath, "--tokens", list)
	if code != 0 || !strings.Contains(out, "migrated 1, skipped 0") || !strings.Contains(out, "remaining 0") {
		t.Fatalf("migrate: exit %d, %q, %q", code, out, errOut)
	}
	data, _ := os.ReadFile(tokensFile)
	if !strings.Contains(string(data), "sensor-1 legacyid01 $sha256$") {
		t.Fatalf("tokens file after migrate:\n%s", data)
	}
}
