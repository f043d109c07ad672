package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/interop"
	"github.com/hardgate/hardgate/internal/pki"
	"github.com/hardgate/hardgate/internal/poll"
)

// TestHTTPURLAtATLSPortSuggestsHTTPS: --url http:// pointed at a port that
// speaks TLS (Go's net/http and Debian's nginx each answer plain HTTP with
// their own 400) is undecided with a hint, never insecure_transport.
func TestHTTPURLAtATLSPortSuggestsHTTPS(t *testing.T) {
	goTLS := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) }))
	goTLS.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake errors this test causes
	goTLS.StartTLS()
	t.Cleanup(goTLS.Close)
	servers := map[string]func(t *testing.T) string{
		"Go's net/http": func(*testing.T) string { return strings.TrimPrefix(goTLS.URL, "https://") },
		"nginx":         startTLSNginx,
	}
	for name, start := range servers {
		t.Run(name, func(t *testing.T) {
			addr := start(t)
			code, stdout, stderr := runCLI(t, "audit", "--url", "http://"+addr+"/v1/ingest", "--timeout", "2s", "--deadline", "10s")
			if code != exitInconclusive {
				t.Fatalf("exit %d, want %d (undecided); stdout:\n%s\nstderr:\n%s", code, exitInconclusive, stdout, stderr)
			}
			if strings.Contains(stdout, "HIGH") || strings.Contains(stdout, "Findings: 1") || !strings.Contains(stdout, "Findings: 0") {
				t.Fatalf("a finding was raised from the TLS port's refusal:\n%s", stdout)
			}
			if !strings.Contains(stdout, "the port speaks TLS") || !strings.Contains(stdout, "audit https://"+addr+"/v1/ingest instead") {
				t.Fatalf("the output does not say the port speaks TLS and suggest https://:\n%s", stdout)
			}
		})
	}
}

const tlsNginxConf = `daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[1]s;
  proxy_temp_path %[1]s;
  fastcgi_temp_path %[1]s;
  uwsgi_temp_path %[1]s;
  scgi_temp_path %[1]s;
  server {
    listen %[2]s ssl;
    ssl_certificate %[3]s;
    ssl_certificate_key %[4]s;
    location / { return 401; }
  }
}
`

// startTLSNginx runs Debian's nginx with one TLS listener on loopback
// until the test ends and returns its host:port.
func startTLSNginx(t *testing.T) string {
	t.Helper()
	nginx := interop.Binary(t, "nginx", "nginx")
	dir := t.TempDir()
	files, err := pki.WriteFiles(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, tlsNginxConf, dir, addr, files.Cert, files.Key), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-e", "stderr", "-p", dir, "-c", conf)
	logFile, err := os.Create(filepath.Join(dir, "nginx.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	poll.Until(t, "nginx listening on "+addr, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, poll.Timeout(10*time.Second))
	return addr
}
