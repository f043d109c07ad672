// Package nginxfleet runs the benches' fleet of loopback gateways: one
// Debian nginx with N TLS listen ports on 127.0.0.1 and an ingest-like
// location with a bearer check (bench/fleet, bench/agents).
package nginxfleet

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hardgate/hardgate/internal/pki"
)

// FreePorts finds n free loopback ports (each bound, then all released).
func FreePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find %d free ports: %w", n, err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Start runs one Debian nginx in work listening with TLS on every port
// of 127.0.0.1 in ports: /healthz answers ok, /v1/ingest 401 without
// "Authorization: Bearer <token>" and 202 with it. It writes work/ca.pem
// (the CA of the servers' certificate) and returns nginx's pid.
func Start(ctx context.Context, work string, ports []int, token string) (stop func(), pid int, err error) {
	ca, err := pki.NewCA("hardgate fleet bench CA", time.Now(), 365*24*time.Hour)
	if err != nil {
		return nil, 0, err
	}
	leaf, err := ca.Issue([]string{"127.0.0.1", "localhost"}, time.Now(), 365*24*time.Hour)
	if err != nil {
		return nil, 0, err
	}
	if err := leaf.Write(filepath.Join(work, "server.crt"), filepath.Join(work, "server.key")); err != nil {
		return nil, 0, err
	}
	if err := os.WriteFile(filepath.Join(work, "ca.pem"), ca.CertPEM, 0o644); err != nil {
		return nil, 0, err
	}
	if err := os.MkdirAll(filepath.Join(work, "tmp"), 0o700); err != nil {
		return nil, 0, err
	}
	var listen strings.Builder
	for _, p := range ports {
		fmt.Fprintf(&listen, "    listen 127.0.0.1:%d ssl;\n", p)
	}
	conf := fmt.Sprintf(nginxConf, work, work, listen.String(), work, work, token)
	confFile := filepath.Join(work, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		return nil, 0, err
	}
	logf, err := os.Create(filepath.Join(work, "nginx.log"))
	if err != nil {
		return nil, 0, err
	}
	cmd := exec.CommandContext(ctx, "nginx", "-e", "stderr", "-p", work, "-c", confFile)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("start nginx: %w", err)
	}
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
	}
	for _, p := range []int{ports[0], ports[len(ports)-1]} {
		if err := WaitPort(p, 10*time.Second); err != nil {
			stop()
			log, _ := os.ReadFile(filepath.Join(work, "nginx.log"))
			return nil, 0, fmt.Errorf("nginx: %w\n%s", err, log)
		}
	}
	return stop, cmd.Process.Pid, nil
}

const nginxConf = `daemon off;
worker_processes 2;
worker_rlimit_nofile 16384;
pid %s/nginx.pid;
error_log %s/nginx-error.log crit;
events { worker_connections 8192; }
http {
  access_log off;
  ssl_certificate %[4]s/server.crt;
  ssl_certificate_key %[4]s/server.key;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_ciphers ECDHE+AESGCM:ECDHE+CHACHA20;
  ssl_prefer_server_ciphers on;
  client_body_temp_path %[5]s/tmp;
  server {
%[3]s
    location = /healthz { return 200 "ok\n"; }
    location = /v1/ingest {
      if ($http_authorization != "Bearer %[6]s") {
        add_header WWW-Authenticate 'Bearer realm="ingest"' always;
        return 401 '{"error":"unauthorized"}';
      }
      return 202 '{"accepted":1}';
    }
    location / { return 404; }
  }
}
`

// WaitPort waits until 127.0.0.1:p accepts connections.
func WaitPort(p int, within time.Duration) error {
	end := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("port %d did not open within %s: %w", p, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
