package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hardgate/hardgate/internal/pki"
)

// freePorts finds n free loopback ports (each bound, then all released).
func freePorts(n int) ([]int, error) {
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

func startNginx(ctx context.Context, work string, ports []int) (stop func(), cpu func() time.Duration, err error) {
	ca, err := pki.NewCA("hardgate fleet bench CA", time.Now(), 365*24*time.Hour)
	if err != nil {
		return nil, nil, err
	}
	leaf, err := ca.Issue([]string{"127.0.0.1", "localhost"}, time.Now(), 365*24*time.Hour)
	if err != nil {
		return nil, nil, err
	}
	if err := leaf.Write(filepath.Join(work, "server.crt"), filepath.Join(work, "server.key")); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(work, "ca.pem"), ca.CertPEM, 0o644); err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(filepath.Join(work, "tmp"), 0o700); err != nil {
		return nil, nil, err
	}
	var listen strings.Builder
	for _, p := range ports {
		fmt.Fprintf(&listen, "    listen 127.0.0.1:%d ssl;\n", p)
	}
	conf := fmt.Sprintf(nginxConf, work, work, listen.String(), work, work, token)
	confFile := filepath.Join(work, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		return nil, nil, err
	}
	logf, err := os.Create(filepath.Join(work, "nginx.log"))
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.CommandContext(ctx, "nginx", "-e", "stderr", "-p", work, "-c", confFile)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start nginx: %w", err)
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
		if err := waitPort(p, 10*time.Second); err != nil {
			stop()
			log, _ := os.ReadFile(filepath.Join(work, "nginx.log"))
			return nil, nil, fmt.Errorf("nginx: %w\n%s", err, log)
		}
	}
	return stop, func() time.Duration { return treeCPU(cmd.Process.Pid) }, nil
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

func waitPort(p int, within time.Duration) error {
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

// hostile serves the hostile ports: silent ones hold every connection
// open without a byte; garbage ones answer every connection with random
// bytes that are no TLS record.
type hostile struct {
	silent, garbage []string
	lns             []net.Listener
}

func startHostile(silent, garbage int) *hostile {
	h := &hostile{}
	serve := func(answer func(net.Conn)) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			log.Fatal(err)
		}
		h.lns = append(h.lns, ln)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go answer(c)
			}
		}()
		return ln.Addr().String()
	}
	for range silent {
		h.silent = append(h.silent, serve(func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }))
	}
	for range garbage {
		h.garbage = append(h.garbage, serve(func(c net.Conn) {
			defer c.Close()
			buf := make([]byte, 4096)
			_, _ = rand.Read(buf)
			buf[0] = 0x42 // never a TLS content type
			_, _ = c.Write(buf)
			_, _ = io.Copy(io.Discard, io.LimitReader(c, 1<<20))
		}))
	}
	return h
}

func (h *hostile) close() {
	for _, ln := range h.lns {
		ln.Close()
	}
}
