// Package mosquittotest runs Debian's Mosquitto broker for tests: on a free
// loopback port, from a config written in t.TempDir(), stopped in
// t.Cleanup. Tests call interop.Binary through Start, so a machine without
// mosquitto skips them (and CI fails them).
//
// Only tests import this package, so deadcode without -test lists its
// functions as unreachable; "deadcode -test ./..." reports nothing here.
package mosquittotest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/interop"
)

// Broker is one mosquitto process that can be stopped and started again on
// the same port.
type Broker struct {
	tb  testing.TB
	bin string
	// Port is the loopback port the broker listens on.
	Port int
	// Dir is the test's directory for the config and any files it names.
	Dir string
	// Conf is the config file path.
	Conf string
	// ExtraArgs are added to the command line (for example "-p", port).
	ExtraArgs []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	out    *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the process's output goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// New prepares a broker: conf receives the chosen port and the directory
// and returns the mosquitto.conf text. When running as root, "user root" is
// prepended so that mosquitto can read the files in the test directory.
// The broker is not started; call Start.
func New(tb testing.TB, conf func(port int, dir string) string) *Broker {
	tb.Helper()
	bin := interop.Binary(tb, "mosquitto", "mosquitto")
	b := &Broker{tb: tb, bin: bin, Port: FreePort(tb), Dir: tb.TempDir()}
	text := conf(b.Port, b.Dir)
	if os.Geteuid() == 0 {
		text = "user root\n" + text
	}
	b.Conf = filepath.Join(b.Dir, "mosquitto.conf")
	if err := os.WriteFile(b.Conf, []byte(text), 0o600); err != nil {
		tb.Fatalf("write mosquitto.conf: %v", err)
	}
	tb.Cleanup(b.Stop)
	return b
}

// Start runs the broker and waits until its port accepts connections.
func (b *Broker) Start() {
	b.tb.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd != nil {
		return
	}
	args := append([]string{"-c", b.Conf}, b.ExtraArgs...)
	cmd := exec.Command(b.bin, args...)
	b.out = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = b.out, b.out
	if err := cmd.Start(); err != nil {
		b.tb.Fatalf("start mosquitto: %v", err)
	}
	b.cmd = cmd
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", b.Addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			b.exited = exited
			return
		}
		select {
		case <-exited:
			b.cmd = nil
			b.tb.Fatalf("mosquitto exited at start:\n%s", b.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.tb.Fatalf("mosquitto did not listen on %s within 10s:\n%s", b.Addr(), b.out.String())
		}
	}
}

// Stop terminates the broker (SIGTERM, then SIGKILL after 5 s) and waits.
func (b *Broker) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(5 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.exited
	}
	b.cmd = nil
}

// Addr is "127.0.0.1:port".
func (b *Broker) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.Port)) }

// URL is "mqtt://127.0.0.1:port" (or mqtts when tls is set).
func (b *Broker) URL(tls bool) string {
	if tls {
		return "mqtts://" + b.Addr()
	}
	return "mqtt://" + b.Addr()
}

// Log returns what mosquitto printed so far.
func (b *Broker) Log() string {
	b.mu.Lock()
	out := b.out
	b.mu.Unlock()
	if out == nil {
		return ""
	}
	return out.String()
}

// WriteFile writes a file in the broker's directory and returns its path.
func (b *Broker) WriteFile(name, content string) string {
	b.tb.Helper()
	p := filepath.Join(b.Dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		b.tb.Fatalf("write %s: %v", name, err)
	}
	return p
}

// WritePasswordFile creates a mosquitto password file in the broker's
// directory with mosquitto_passwd (Debian package mosquitto).
func WritePasswordFile(tb testing.TB, b *Broker, name, user, password string) string {
	tb.Helper()
	bin := interop.Binary(tb, "mosquitto_passwd", "mosquitto")
	p := filepath.Join(b.Dir, name)
	out, err := exec.Command(bin, "-b", "-c", p, user, password).CombinedOutput()
	if err != nil {
		tb.Fatalf("mosquitto_passwd: %v: %s", err, out)
	}
	return p
}
