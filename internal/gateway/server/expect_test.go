package server

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAuthenticationBeforeTheBody sends only the headers of a large POST
// with "Expect: 100-continue": without a valid token ingestd must answer
// 401 at once, without inviting the body; with one it answers 100 Continue.
func TestAuthenticationBeforeTheBody(t *testing.T) {
	f := startFixture(t, nil)
	tests := []struct {
		name   string
		auth   string
		status string
	}{
		{"no token is refused before the body is sent", "", "HTTP/1.1 401 "},
		{"a wrong token is refused before the body is sent", "Authorization: Bearer igd.AAAAAAAAAAAA.wrongwrongwrongwrong\r\n", "HTTP/1.1 401 "},
		{"a valid token is invited to send the body", "Authorization: Bearer " + f.token + "\r\n", "HTTP/1.1 100 "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.pki.ClientTLS()
			c.NextProtos = []string{"http/1.1"}
			conn, err := tls.Dial("tcp", f.srv.HTTPSAddr(), c)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: ingestd\r\n%sContent-Type: application/json\r\nContent-Length: 500000\r\nExpect: 100-continue\r\n\r\n", PathIngest, tt.auth)
			line, err := bufio.NewReader(conn).ReadString('\n')
			if err != nil {
				t.Fatalf("no answer to the headers alone: %v", err)
			}
			if !strings.HasPrefix(line, tt.status) {
				t.Fatalf("status line %q, want %q", strings.TrimSpace(line), tt.status)
			}
		})
	}
}

// TestAuthFailureAnswersAtOnce sends the headers of a POST with a small
// Content-Length (under net/http's 256 KiB drain limit) and no body: the
// 401 must come at once with Connection: close, and the server must close
// the connection, instead of waiting up to ReadTimeout (30 s) for a body
// it will throw away.
func TestAuthFailureAnswersAtOnce(t *testing.T) {
	t.Parallel()
	f := startFixture(t, nil)
	for _, auth := range []string{"", "Authorization: Bearer igd.AAAAAAAAAAAA.wrongwrongwrongwrong\r\n"} {
		c := f.pki.ClientTLS()
		c.NextProtos = []string{"http/1.1"}
		conn, err := tls.Dial("tcp", f.srv.HTTPSAddr(), c)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// Well under ReadTimeout: a drain of the missing body would miss it.
		if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: ingestd\r\n%sContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", PathIngest, auth)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("no answer to a body-less POST (%q): %v", auth, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
			t.Fatalf("got %d, close %v; want 401 with Connection: close", resp.StatusCode, resp.Close)
		}
		if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
			t.Fatalf("after the 401 the connection was not closed: %v", err)
		}
	}
}
