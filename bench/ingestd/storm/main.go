// Command storm measures a reconnect storm: N devices, each with its own
// token and its own TLS connection, send their first POST within one second
// of a fresh ingestd start, as after a gateway restart. It prints the
// first-request latency (p50, p90, p99, max, counted from the moment each
// device meant to send, including retries while ingestd is not yet
// listening) and the time from the start of ingestd until every device got
// its 202.
//
//	go build -o /tmp/ingestd ./cmd/ingestd
//	go run ./bench/ingestd/storm -ingestd /tmp/ingestd -devices 10000
//	go run ./bench/ingestd/storm -ingestd /tmp/ingestd -devices 200 -hash argon2id   # the old tokens
//
// Everything runs on 127.0.0.1; the PKI and tokens are made fresh in a
// private temporary directory and removed afterwards.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/auth"
	"github.com/hardgate/hardgate/internal/gateway/server/testcert"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the command-line choices.
type options struct {
	ingestd  string
	devices  int
	spread   time.Duration
	hash     string
	pq       bool
	timeout  time.Duration
	keepWork bool
	env      string // extra environment of ingestd only, space-separated K=V
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("storm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.ingestd, "ingestd", "", "path of the ingestd binary (required)")
	fs.IntVar(&o.devices, "devices", 1000, "devices, one token each")
	fs.DurationVar(&o.spread, "spread", time.Second, "the devices' first POSTs are spread evenly over this time from the start")
	fs.StringVar(&o.hash, "hash", auth.MethodSHA256, "stored form of the tokens: sha256 (today) or argon2id (older versions)")
	fs.BoolVar(&o.pq, "pq", false, "devices offer X25519MLKEM768 (Go's default) instead of X25519 and P-256 only")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "give up on a device after this long")
	fs.BoolVar(&o.keepWork, "keep", false, "keep the work directory (logs, store)")
	fs.StringVar(&o.env, "env", "", "extra environment for ingestd only, space-separated K=V (e.g. \"GOGC=400 GOMEMLIMIT=96MiB\")")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.ingestd == "" || o.devices < 1 || (o.hash != auth.MethodSHA256 && o.hash != auth.MethodArgon2id) {
		fmt.Fprintln(stderr, "storm: -ingestd PATH is required; -devices >= 1; -hash sha256 or argon2id")
		return 2
	}
	rep, err := storm(ctx, o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "storm: %v\n", err)
		return 1
	}
	rep.print(stdout)
	if rep.failed > 0 {
		return 1
	}
	return 0
}

// setup is a fresh gateway on disk: PKI, tokens, config.
type setup struct {
	dir    string
	cfg    string
	addr   string
	tokens []string
	tls    *tls.Config
}

func prepare(o options, log io.Writer) (*setup, error) {
	dir, err := os.MkdirTemp("", "ingestd-storm-")
	if err != nil {
		return nil, err
	}
	s := &setup{dir: dir}
	pki, err := testcert.New(dir, time.Now())
	if err != nil {
		return s, err
	}
	s.tls = pki.ClientTLS()
	s.tls.ClientSessionCache = nil // every device makes a full handshake
	if !o.pq {
		s.tls.CurvePreferences = []tls.CurveID{tls.X25519, tls.CurveP256}
	}
	t0 := time.Now()
	recs := make([]auth.Record, 0, o.devices)
	for i := range o.devices {
		tok, rec, err := auth.NewToken(fmt.Sprintf("device-%05d", i), time.Now())
		if err != nil {
			return s, err
		}
		if o.hash == auth.MethodArgon2id {
			if rec.Hash, err = auth.HashArgon2id(tok); err != nil {
				return s, err
			}
		}
		s.tokens = append(s.tokens, tok)
		recs = append(recs, rec)
	}
	tokensFile := filepath.Join(dir, "tokens")
	if err := auth.WriteFile(tokensFile, recs); err != nil {
		return s, err
	}
	fmt.Fprintf(log, "storm: %d %s tokens written in %s\n", o.devices, o.hash, time.Since(t0).Round(time.Millisecond))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return s, err
	}
	s.addr = ln.Addr().String()
	ln.Close()
	cfg := fmt.Sprintf(`listen:
  https: %s
tls:
  cert_file: %s
  key_file: %s
auth:
  tokens_file: %s
store:
  dir: %s
log:
  level: warn
`, s.addr, pki.CertFile, pki.KeyFile, tokensFile, filepath.Join(dir, "store"))
	s.cfg = filepath.Join(dir, "ingestd.yaml")
	return s, os.WriteFile(s.cfg, []byte(cfg), 0o600)
}

func storm(ctx context.Context, o options, log io.Writer) (*report, error) {
	s, err := prepare(o, log)
	if s != nil && !o.keepWork {
		defer os.RemoveAll(s.dir)
	}
	if err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(filepath.Join(s.dir, "ingestd.log"), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(o.ingestd, "run", "--config", s.cfg)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), strings.Fields(o.env)...)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}
	}()
	var self0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self0)
	results := make(chan result, o.devices)
	for i, tok := range s.tokens {
		at := start.Add(time.Duration(int64(o.spread) * int64(i) / int64(o.devices)))
		go func() { results <- device(ctx, s, tok, at, o.timeout) }()
	}
	rep := &report{opts: o, started: start}
	for range o.devices {
		rep.add(<-results)
	}
	rep.peakRSS = peakRSS(cmd.Process.Pid)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	stopped = true
	rep.ingestdCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	var self1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self1)
	rep.devicesCPU = time.Duration(self1.Utime.Nano() + self1.Stime.Nano() - self0.Utime.Nano() - self0.Stime.Nano())
	if b, err := os.ReadFile(filepath.Join(s.dir, "ingestd.log")); err == nil && len(b) > 0 {
		fmt.Fprintf(log, "storm: ingestd log:\n%s", tail(string(b), 20))
	}
	return rep, nil
}

// result is one device's first request.
type result struct {
	latency time.Duration // from the planned send to the 202
	dialed  time.Time     // the first connection ingestd accepted
	done    time.Time
	refused int // connection attempts before ingestd listened
	status  int
	err     error
}

// device sends one POST at time at, retrying only while ingestd does not
// listen yet (connection refused), as a device would.
func device(ctx context.Context, s *setup, token string, at time.Time, timeout time.Duration) result {
	time.Sleep(time.Until(at))
	var r result
	deadline := at.Add(timeout)
	body := `{"temperature_c":21.5,"first":true}`
	req := "POST /v1/ingest HTTP/1.1\r\nHost: " + s.addr + "\r\nAuthorization: Bearer " + token +
		"\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\n\r\n" + body
	for {
		d := tls.Dialer{NetDialer: &net.Dialer{Deadline: deadline}, Config: s.tls}
		conn, err := d.DialContext(ctx, "tcp", s.addr)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) && time.Now().Before(deadline) {
				r.refused++
				time.Sleep(5 * time.Millisecond)
				continue
			}
			r.err = err
			return r
		}
		r.dialed = time.Now()
		_ = conn.SetDeadline(deadline)
		r.status, r.err = exchange(conn, req)
		conn.Close()
		r.done = time.Now()
		r.latency = r.done.Sub(at)
		return r
	}
}

// exchange writes req and reads the status code of the answer.
func exchange(conn net.Conn, req string) (int, error) {
	if _, err := io.WriteString(conn, req); err != nil {
		return 0, err
	}
	buf := make([]byte, 512)
	n, err := io.ReadAtLeast(conn, buf, 12)
	if err != nil {
		return 0, err
	}
	var code int
	if _, err := fmt.Sscanf(string(buf[:n]), "HTTP/1.1 %d", &code); err != nil {
		return 0, fmt.Errorf("unexpected answer %q", buf[:n])
	}
	return code, nil
}

// peakRSS is the peak resident set (VmHWM) of process pid, "" when unknown.
func peakRSS(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int
			if _, err := fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb); err == nil {
				return fmt.Sprintf("%d MiB", kb/1024)
			}
		}
	}
	return ""
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}
