package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/auth"
	"github.com/hardgate/hardgate/internal/gateway/config"
)

const tokenHelp = `Usage:
  ingestd token add     --config FILE --device ID [--expires WHEN]
  ingestd token rotate  --config FILE --device ID [--overlap DURATION] [--expires WHEN]
  ingestd token list    --config FILE
  ingestd token revoke  --config FILE --device ID
  ingestd token migrate --config FILE --tokens FILE|-

add prints a new token, alone on one line, on stdout; only its SHA-256
digest is written to auth.tokens_file (mode 0600). WHEN is a time from now
("720h", "90d"), a date ("2027-01-31", midnight UTC) or an RFC 3339 time.

rotate prints a new token for the device and makes each older token of the
device expire after the overlap (default 24h), so devices can be moved to the
new token without downtime; tokens that had already expired are removed.

list prints device, token id, hash method, created, expires and last used
(saved by a running ingestd every 10 s); never a secret.

revoke removes every token of the device.

migrate reads tokens, one per line, from FILE (- is stdin) and rewrites the
legacy argon2id/bcrypt lines they match as SHA-256. A running ingestd does the
same by itself for each legacy token on its first successful use.

A running ingestd applies every change on SIGHUP (systemctl reload ingestd).

Examples:
  TOKEN=$(ingestd token add --config /etc/ingestd/ingestd.yaml --device sensor-17 --expires 365d)
  NEW=$(ingestd token rotate --config /etc/ingestd/ingestd.yaml --device sensor-17 --overlap 48h)
  ingestd token list --config /etc/ingestd/ingestd.yaml
  ingestd token revoke --config /etc/ingestd/ingestd.yaml --device sensor-17
  ingestd token migrate --config /etc/ingestd/ingestd.yaml --tokens - < provisioned-tokens.txt
  systemctl reload ingestd
`

// tokenCmd is one "ingestd token" invocation.
type tokenCmd struct {
	action  string
	cfgPath string
	device  string
	expires string
	overlap time.Duration
	tokens  string
	stdout  io.Writer
	stderr  io.Writer
	now     time.Time
}

func cmdToken(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, tokenHelp)
		return exitUsage
	}
	c := &tokenCmd{action: args[0], stdout: stdout, stderr: stderr, now: time.Now()}
	switch c.action {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, tokenHelp)
		return exitOK
	case "add", "rotate", "list", "revoke", "migrate":
	default:
		fmt.Fprintf(stderr, "ingestd token: unknown action %q\n\n%s", c.action, tokenHelp)
		return exitUsage
	}
	fs := flag.NewFlagSet("token "+c.action, flag.ContinueOnError)
	fs.StringVar(&c.cfgPath, "config", "", "config file (YAML)")
	if c.action != "list" && c.action != "migrate" {
		fs.StringVar(&c.device, "device", "", "device id")
	}
	if c.action == "add" || c.action == "rotate" {
		fs.StringVar(&c.expires, "expires", "", "expiry of the new token")
	}
	if c.action == "rotate" {
		fs.DurationVar(&c.overlap, "overlap", 24*time.Hour, "how long the older tokens keep working")
	}
	if c.action == "migrate" {
		fs.StringVar(&c.tokens, "tokens", "", "file of tokens, one per line (- is stdin)")
	}
	if code := parseFlags(fs, args[1:], stdout, stderr, tokenHelp); code >= 0 {
		return code
	}
	tokensFile, code := c.tokensFile()
	if code >= 0 {
		return code
	}
	if err := c.run(tokensFile); err != nil {
		fmt.Fprintf(stderr, "ingestd token %s: %v\n", c.action, err)
		var ue usageError
		if errors.As(err, &ue) {
			return exitUsage
		}
		return exitRuntime
	}
	return exitOK
}

// usageError is a problem with the command line (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// tokensFile reads auth.tokens_file from the config; a non-negative code
// means stop with it.
func (c *tokenCmd) tokensFile() (string, int) {
	missing := ""
	switch {
	case c.cfgPath == "":
		missing = "--config FILE"
	case c.device == "" && c.action != "list" && c.action != "migrate":
		missing = "--device ID"
	case c.tokens == "" && c.action == "migrate":
		missing = "--tokens FILE"
	}
	if missing != "" {
		fmt.Fprintf(c.stderr, "ingestd token %s: %s is required\n", c.action, missing)
		return "", exitUsage
	}
	f, err := os.Open(c.cfgPath)
	if err != nil {
		fmt.Fprintf(c.stderr, "ingestd token %s: %v\n", c.action, err)
		return "", exitUsage
	}
	cfg, err := config.Parse(f)
	f.Close()
	if err != nil {
		printProblems(c.stderr, "token "+c.action, err)
		return "", exitUsage
	}
	if cfg.Auth.TokensFile == "" {
		fmt.Fprintf(c.stderr, "ingestd token %s: auth.tokens_file is not set in %s\n", c.action, c.cfgPath)
		return "", exitUsage
	}
	if cfg.Auth.Mode != config.AuthBearer && (c.action == "add" || c.action == "rotate") {
		fmt.Fprintf(c.stderr, "ingestd token %s: warning: auth.mode is %q; tokens are used only with bearer\n", c.action, cfg.Auth.Mode)
	}
	return cfg.Auth.TokensFile, -1
}

func (c *tokenCmd) run(tokensFile string) error {
	expires, err := parseWhen(c.expires, c.now)
	if err != nil {
		return usageError{fmt.Sprintf("--expires: %v", err)}
	}
	switch c.action {
	case "add":
		tok, _, err := auth.Add(tokensFile, c.device, auth.AddOptions{Now: c.now, Expires: expires})
		if err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, tok)
	case "rotate":
		tok, _, old, err := auth.Rotate(tokensFile, c.device, auth.RotateOptions{Now: c.now, Overlap: c.overlap, Expires: expires})
		if err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, tok)
		for _, r := range old {
			fmt.Fprintf(c.stderr, "token %s of %s now expires %s\n", r.ID, r.Device, r.Expires.Format(time.RFC3339))
		}
		fmt.Fprintln(c.stderr, "reload ingestd (SIGHUP) to apply")
	case "list":
		return c.list(tokensFile)
	case "revoke":
		n, err := auth.RevokeDevice(tokensFile, c.device)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "revoked %d token(s) of %s; reload ingestd (SIGHUP) to apply\n", n, c.device)
	case "migrate":
		return c.migrate(tokensFile)
	}
	return nil
}

func (c *tokenCmd) list(tokensFile string) error {
	list, err := auth.List(tokensFile)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tTOKEN ID\tMETHOD\tCREATED\tEXPIRES\tLAST USED")
	show := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, l := range list {
		exp := show(l.Expires)
		if !l.Expires.IsZero() && !c.now.Before(l.Expires) {
			exp += " (expired)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.Device, l.ID, l.Method, show(l.Created), exp, show(l.LastUsed))
	}
	return tw.Flush()
}

func (c *tokenCmd) migrate(tokensFile string) error {
	var r io.Reader = os.Stdin
	if c.tokens != "-" {
		f, err := os.Open(c.tokens)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	var toks []string
	sc := bufio.NewScanner(io.LimitReader(r, auth.MaxFileBytes))
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" && !strings.HasPrefix(t, "#") {
			toks = append(toks, t)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read tokens: %w", err)
	}
	st, err := auth.Migrate(tokensFile, toks)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "migrated %d, skipped %d (unknown, already sha256, or wrong), legacy lines remaining %d\n",
		st.Migrated, st.Skipped, st.Remaining)
	if st.Migrated > 0 {
		fmt.Fprintln(c.stderr, "reload ingestd (SIGHUP) to apply")
	}
	return nil
}

// parseWhen reads an expiry: "" (never), a duration from now ("720h",
// "90d"), a date ("2027-01-31", midnight UTC) or an RFC 3339 time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	switch {
	case s == "":
		return time.Time{}, nil
	case strings.HasSuffix(s, "d"):
		days, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || days < 1 || days > 36500 {
			return time.Time{}, fmt.Errorf("%q: want a number of days from 1 to 36500, such as 90d", s)
		}
		return now.AddDate(0, 0, days), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("%q is not in the future", s)
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		if t, err = time.Parse(time.RFC3339, s); err != nil {
			return time.Time{}, fmt.Errorf("%q: want a duration (720h, 90d), a date (2027-01-31) or an RFC 3339 time", s)
		}
	}
	if !t.After(now) {
		return time.Time{}, fmt.Errorf("%q is not in the future", s)
	}
	return t, nil
}
