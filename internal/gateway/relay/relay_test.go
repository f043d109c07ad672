package relay

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"
)

// echo is a loopback server that echoes one line per connection.
func echo(t *testing.T, prefix string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, err := bufio.NewReader(c).ReadString('\n')
				if err == nil {
					_, _ = io.WriteString(c, prefix+line)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip sends one line through addr and returns the answer ("" when
// the connection was closed without one).
func roundTrip(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		return ""
	}
	line, _ := bufio.NewReader(c).ReadString('\n')
	return line
}

func TestRelay(t *testing.T) {
	t.Parallel()
	a, b := echo(t, "a:"), echo(t, "b:")
	r := New(t)
	addr := r.Addr()
	if got := roundTrip(t, addr); got != "" {
		t.Fatalf("a new relay is shut, but answered %q", got)
	}
	r.Open(a)
	if got := roundTrip(t, addr); got != "a:ping\n" {
		t.Fatalf("open relay answered %q, want a:ping", got)
	}
	// A connection in progress is cut by Shut.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r.Shut()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "ping\n"); err == nil {
		if line, _ := bufio.NewReader(c).ReadString('\n'); line != "" {
			t.Fatalf("a connection made before Shut still answered %q", line)
		}
	}
	if got := roundTrip(t, addr); got != "" {
		t.Fatalf("shut relay answered %q", got)
	}
	r.Open(b) // the upstream moved; the relay's address did not
	if got := roundTrip(t, addr); got != "b:ping\n" {
		t.Fatalf("relay reopened towards b answered %q, want b:ping", got)
	}
	if r.Addr() != addr {
		t.Fatalf("address changed from %s to %s", addr, r.Addr())
	}
}
