package audit

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/interop"
	"github.com/hardgate/hardgate/internal/pki"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// nginxRedirectConf is the classic "redirect HTTP to HTTPS" setup: the
// plaintext server answers every request, a POST with its body and
// Authorization header included, with 301 to the TLS server, which
// enforces the bearer token.
const nginxRedirectConf = `daemon off;
master_process off;
worker_processes 1;
pid {{dir}}/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path {{dir}}/tmp;
  proxy_temp_path {{dir}}/tmp;
  fastcgi_temp_path {{dir}}/tmp;
  uwsgi_temp_path {{dir}}/tmp;
  scgi_temp_path {{dir}}/tmp;
  server {
    listen {{plain}};
    location / { return 301 https://{{tls}}$request_uri; }
  }
  server {
    listen {{tls}} ssl;
    ssl_certificate {{dir}}/server.crt;
    ssl_certificate_key {{dir}}/server.key;
    location = /healthz { return 200 "ok\n"; }
    location = /v1/ingest {
      if ($http_authorization = "Bearer {{token}}") { return 202 '{"records":1}'; }
      add_header WWW-Authenticate 'Bearer realm="nginx"' always;
      return 401;
    }
  }
}
`

// startRedirectingNginx runs Debian's nginx with nginxRedirectConf and
// returns the plaintext and TLS addresses and the CA file.
func startRedirectingNginx(t *testing.T) (plain, tlsAddr, caFile string) {
	t.Helper()
	nginx := interop.Binary(t, "nginx", "nginx")
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	ca, err := pki.NewCA("nginx CA", time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue([]string{"127.0.0.1"}, time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.Write(filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")); err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	plain, tlsAddr = freeAddr(t), freeAddr(t)
	conf := strings.NewReplacer("{{dir}}", dir, "{{plain}}", plain, "{{tls}}", tlsAddr, "{{token}}", testToken).Replace(nginxRedirectConf)
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "nginx.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-e", "stderr", "-p", dir, "-c", confFile)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		log.Close()
	})
	for _, addr := range []string{plain, tlsAddr} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				out, _ := os.ReadFile(filepath.Join(dir, "nginx.log"))
				t.Fatalf("nginx did not listen on %s: %v\n%s", addr, err, out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return plain, tlsAddr, caFile
}

// TestAPlaintextURLThatRedirectsToHTTPSFails runs the corpus case against
// Debian's nginx: "it only redirects to HTTPS" is no defence for an ingest
// API, because the device has already sent its body and token.
func TestAPlaintextURLThatRedirectsToHTTPSFails(t *testing.T) {
	plain, tlsAddr, caFile := startRedirectingNginx(t)
	t.Setenv("HG_TEST_TOKEN", testToken)
	plainURL := "http://" + plain + "/v1/ingest"
	res := mustRun(t, &spec.Target{Ingest: spec.Ingest{
		URLs:      []string{plainURL, "https://" + tlsAddr + "/v1/ingest"},
		HealthURL: "https://" + tlsAddr + "/healthz", CAFile: caFile, TokenEnv: "HG_TEST_TOKEN",
	}})
	wantStatus(t, res, map[string]result.Status{
		"ingest_auth.insecure_transport":     result.StatusFail,
		"gateway_runtime.health_unavailable": result.StatusPass,
		// The redirect rule: the plaintext POST was neither accepted nor refused.
		"ingest_auth.unauthenticated_ingest_allowed": result.StatusError,
	})
	c := control(t, res, "ingest_auth.insecure_transport")
	if !strings.Contains(c.Reason, plainURL+" answered ingest over plaintext HTTP with a redirect (301 to") || !strings.Contains(c.Reason, "cleartext") {
		t.Errorf("reason %q does not say the plaintext URL redirected after the body crossed in cleartext", c.Reason)
	}
	var sawLocation bool
	for _, e := range c.Evidence {
		if e.HTTP != nil && e.HTTP.URL == plainURL && strings.HasPrefix(e.HTTP.ResponseHeaders["Location"], "https://"+tlsAddr) &&
			strings.Contains(e.Summary, "cleartext") {
			sawLocation = true
		}
	}
	if !sawLocation {
		t.Errorf("no evidence shows the plaintext POST and its redirect: %+v", c.Evidence)
	}
}

// redirectingGateway enforces the bearer token like bearerGateway but
// answers the requests that redirect says with a 307 to where.
func redirectingGateway(redirect func(r *http.Request) bool, where string) http.Handler {
	inner := bearerGateway()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if redirect(r) {
			http.Redirect(w, r, where, http.StatusTemporaryRedirect)
			return
		}
		inner.ServeHTTP(w, r)
	})
}

func TestAnHTTPSURLThatRedirectsIngestOffTLSOrToAnotherHostFails(t *testing.T) {
	ingest := func(r *http.Request) bool { return r.URL.Path == "/v1/ingest" }
	authenticated := func(r *http.Request) bool {
		return r.URL.Path == "/v1/ingest" && r.Header.Get("Authorization") == "Bearer "+testToken
	}
	tests := []struct {
		name     string
		redirect func(r *http.Request) bool
		where    string
		want     string
	}{
		{"every POST to plaintext", ingest, "http://127.0.0.1:1/v1/ingest", "off TLS"},
		{"every POST to another host", ingest, "https://collector.invalid/v1/ingest", "to another host"},
		{"only the authenticated POST to plaintext", authenticated, "http://127.0.0.1:1/v1/ingest", "off TLS"},
		{"every POST to the same host over plaintext, scheme changed only", ingest, "http://127.0.0.1/v1/ingest", "off TLS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, caFile := tlsGateway(t, redirectingGateway(tc.redirect, tc.where))
			t.Setenv("HG_TEST_TOKEN", testToken)
			res := mustRun(t, &spec.Target{Ingest: spec.Ingest{URLs: []string{srv.URL + "/v1/ingest"}, CAFile: caFile, TokenEnv: "HG_TEST_TOKEN"}})
			c := control(t, res, "ingest_auth.insecure_transport")
			if c.Status != result.StatusFail || !strings.Contains(c.Reason, tc.want) || !strings.Contains(c.Reason, tc.where) {
				t.Fatalf("insecure_transport = %s (%s), want fail naming %q and %s", c.Status, c.Reason, tc.want, tc.where)
			}
		})
	}
}

// TestARedirectDecidesNothingInAnyControl: a gateway that redirects every
// request within its own https origin gets the same judgment from every
// control that asks whether a request was accepted, refused or healthy:
// undecided, never pass and never fail (docs/controls.md, Redirects).
func TestARedirectDecidesNothingInAnyControl(t *testing.T) {
	srv, caFile := tlsGateway(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/v2"+r.URL.Path, http.StatusPermanentRedirect)
	}))
	t.Setenv("HG_TEST_TOKEN", testToken)
	res := mustRun(t, &spec.Target{Ingest: spec.Ingest{URLs: []string{srv.URL + "/v1/ingest"}, CAFile: caFile, TokenEnv: "HG_TEST_TOKEN"}})
	wantStatus(t, res, map[string]result.Status{
		"ingest_auth.unauthenticated_ingest_allowed": result.StatusError,
		"ingest_auth.invalid_token_accepted":         result.StatusError,
		"ingest_auth.authenticated_ingest_rejected":  result.StatusError,
		"gateway_runtime.health_unavailable":         result.StatusError,
		// Same origin, still TLS: the redirect itself is no transport finding.
		"ingest_auth.insecure_transport": result.StatusPass,
	})
	for _, id := range []string{"ingest_auth.unauthenticated_ingest_allowed", "ingest_auth.invalid_token_accepted", "ingest_auth.authenticated_ingest_rejected", "gateway_runtime.health_unavailable"} {
		if r := control(t, res, id).Reason; !strings.Contains(r, "redirects are not followed and decide nothing") {
			t.Errorf("%s reason %q does not state the redirect rule", id, r)
		}
	}
}
