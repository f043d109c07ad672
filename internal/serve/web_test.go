package serve

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dashboard runs s's handler on a loopback test server.
func dashboard(t *testing.T, s *Service) *httptest.Server {
	t.Helper()
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// browser is an HTTP client with cookies that does not follow redirects.
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func post(t *testing.T, c *http.Client, u string, form url.Values, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", body)
	}
	return m[1]
}

func TestLoopbackDashboardWithoutAuth(t *testing.T) {
	exec := newFakeExec()
	s := newService(t, testConfig(t, "schedule: {every: 1h, jitter: 0s}\n"), openStore(t, ""), exec, targets("gw-1", "gw-2"))
	runService(t, s)
	waitFor(t, "the first audits to finish", func() bool {
		return s.status("gw-1").Latest != nil && s.status("gw-2").Latest != nil && !s.sched.info("gw-1").Running && !s.sched.info("gw-2").Running
	})
	srv := dashboard(t, s)
	c := browser(t)

	resp, body := get(t, c, srv.URL+"/")
	if resp.StatusCode != 200 || !strings.Contains(body, `data-target="gw-1"`) || !strings.Contains(body, "local (operator)") {
		t.Fatalf("overview %d:\n%s", resp.StatusCode, body)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}
	t.Run("the label filter keeps matching targets", func(t *testing.T) {
		_, body := get(t, c, srv.URL+"/?label=site%3Dplant-2")
		if strings.Contains(body, `data-target="gw-1"`) || !strings.Contains(body, `data-target="gw-2"`) {
			t.Errorf("filtered overview:\n%s", body)
		}
	})
	_, page := get(t, c, srv.URL+"/targets/gw-1")
	token := csrfOf(t, page)
	t.Run("audit now without the CSRF token is refused", func(t *testing.T) {
		resp, _ := post(t, c, srv.URL+"/targets/gw-1/audit", url.Values{})
		if resp.StatusCode != http.StatusForbidden || exec.count("gw-1") != 1 {
			t.Errorf("status %d, audits %d", resp.StatusCode, exec.count("gw-1"))
		}
	})
	t.Run("a cross-site form post is refused even with a token", func(t *testing.T) {
		resp, _ := post(t, c, srv.URL+"/targets/gw-1/audit", url.Values{"csrf": {token}}, "Sec-Fetch-Site", "cross-site")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	t.Run("another Host name is refused (DNS rebinding)", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
		req.Host = "attacker.example"
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	t.Run("audit now with the token starts an audit", func(t *testing.T) {
		resp, _ := post(t, c, srv.URL+"/targets/gw-1/audit", url.Values{"csrf": {token}})
		if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "notice=") {
			t.Fatalf("status %d location %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		waitFor(t, "the manual audit", func() bool { return exec.count("gw-1") == 2 })
	})
	t.Run("the audit page is the HTML report and the delta page compares", func(t *testing.T) {
		resp, body := get(t, c, srv.URL+"/audits/hg-gw-1-001")
		if resp.StatusCode != 200 || !strings.Contains(body, "hardgate audit report: gw-1") {
			t.Errorf("audit page %d", resp.StatusCode)
		}
		waitFor(t, "the second audit stored", func() bool { return s.status("gw-1").Latest.AuditID == "hg-gw-1-002" })
		resp, body = get(t, c, srv.URL+"/delta?from=hg-gw-1-001&to=hg-gw-1-002")
		if resp.StatusCode != 200 || !strings.Contains(body, "hg-gw-1-002") {
			t.Errorf("delta page %d", resp.StatusCode)
		}
		if resp, _ := get(t, c, srv.URL+"/audits/nope"); resp.StatusCode != 404 {
			t.Errorf("unknown audit %d", resp.StatusCode)
		}
	})
	t.Run("make baseline records who and why", func(t *testing.T) {
		resp, _ := post(t, c, srv.URL+"/targets/gw-1/baseline", url.Values{"csrf": {token}, "audit_id": {"hg-gw-1-002"}, "reason": {"new firmware"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d", resp.StatusCode)
		}
		b, _ := s.store.Baseline(t.Context(), "gw-1")
		if b.AuditID != "hg-gw-1-002" || b.By != "local" || b.Reason != "new firmware" {
			t.Errorf("baseline %+v", b)
		}
		resp, _ = post(t, c, srv.URL+"/targets/gw-1/baseline", url.Values{"csrf": {token}, "audit_id": {"hg-gw-2-001"}})
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("another target's audit: status %d", resp.StatusCode)
		}
	})
}

func writeTokens(t *testing.T) (path, viewer, operator string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "serve-tokens")
	var err error
	if viewer, err = AddToken(path, RoleViewer, "vera"); err != nil {
		t.Fatal(err)
	}
	if operator, err = AddToken(path, RoleOperator, "otto"); err != nil {
		t.Fatal(err)
	}
	return path, viewer, operator
}

func TestDashboardRolesAndSignIn(t *testing.T) {
	path, viewer, operator := writeTokens(t)
	exec := newFakeExec()
	s := newService(t, testConfig(t, "schedule: {every: 1h, jitter: 0s}\nauth: {tokens_file: "+path+"}\n"), openStore(t, ""), exec, targets("gw-1"))
	runService(t, s)
	waitFor(t, "the first audit", func() bool { return s.status("gw-1").Latest != nil })
	srv := dashboard(t, s)

	tests := []struct {
		name   string
		method string
		path   string
		token  string
		want   int
	}{
		{"a page without credentials goes to sign-in", "GET", "/", "", http.StatusSeeOther},
		{"metrics without credentials are refused", "GET", "/metrics", "", http.StatusUnauthorized},
		{"a wrong token is refused", "GET", "/", TokenPrefix + "nope", http.StatusUnauthorized},
		{"a viewer reads the overview", "GET", "/", viewer, http.StatusOK},
		{"a viewer reads the metrics", "GET", "/metrics", viewer, http.StatusOK},
		{"a viewer may not start an audit", "POST", "/targets/gw-1/audit", viewer, http.StatusForbidden},
		{"an operator starts an audit", "POST", "/targets/gw-1/audit", operator, http.StatusAccepted},
		{"health needs no credentials", "GET", "/healthz", "", http.StatusOK},
	}
	c := browser(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.token != "" {
				hdr = []string{"Authorization", "Bearer " + tt.token}
			}
			var resp *http.Response
			if tt.method == "GET" {
				resp, _ = get(t, c, srv.URL+tt.path, hdr...)
			} else {
				resp, _ = post(t, c, srv.URL+tt.path, url.Values{}, hdr...)
			}
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}

	t.Run("a browser signs in with a token and gets a session", func(t *testing.T) {
		b := browser(t)
		_, page := get(t, b, srv.URL+"/login")
		token := csrfOf(t, page)
		resp, body := post(t, b, srv.URL+"/login", url.Values{"csrf": {token}, "token": {"hgs_wrong"}})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "login-failed") {
			t.Errorf("wrong token: %d", resp.StatusCode)
		}
		if resp, _ := post(t, b, srv.URL+"/login", url.Values{"token": {viewer}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("sign-in without the CSRF token: %d", resp.StatusCode)
		}
		resp, _ = post(t, b, srv.URL+"/login", url.Values{"csrf": {token}, "token": {viewer}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", resp.StatusCode)
		}
		resp, body = get(t, b, srv.URL+"/targets/gw-1")
		if resp.StatusCode != 200 || !strings.Contains(body, "vera (viewer)") || strings.Contains(body, "audit-now") {
			t.Errorf("a viewer's target page %d:\n%s", resp.StatusCode, body)
		}
		sessionToken := csrfOf(t, body)
		if resp, _ := post(t, b, srv.URL+"/targets/gw-1/audit", url.Values{"csrf": {sessionToken}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a viewer's audit now: %d", resp.StatusCode)
		}
		post(t, b, srv.URL+"/logout", url.Values{"csrf": {sessionToken}})
		if resp, _ := get(t, b, srv.URL+"/"); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("after sign-out: %d", resp.StatusCode)
		}
	})
}

func TestTokensFiles(t *testing.T) {
	path, _, _ := writeTokens(t)
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("tokens file mode %v", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), TokenPrefix) {
		t.Error("the tokens file holds a token in the clear")
	}
	os.Chmod(path, 0o644)
	if _, err := loadTokens(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a readable tokens file: %v", err)
	}
	bad := []struct{ name, text string }{
		{"an unknown role is refused", "admin bob $sha256$" + strings.Repeat("A", 43) + "\n"},
		{"a line with two fields is refused", "viewer bob\n"},
		{"a clear-text token is refused", "viewer bob hgs_abcdef\n"},
		{"a bad name is refused", "viewer -bob $sha256$" + strings.Repeat("A", 43) + "\n"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseTokens(strings.NewReader(tt.text)); err == nil {
				t.Error("accepted")
			}
		})
	}
	if _, err := AddToken(path, "admin", "x"); err == nil {
		t.Error("AddToken accepted role admin")
	}
}

func FuzzParseTokens(f *testing.F) {
	f.Add("viewer vera $sha256$" + strings.Repeat("A", 43) + "\n# c\n\noperator o $sha256$" + strings.Repeat("B", 43))
	f.Fuzz(func(t *testing.T, text string) {
		tk, err := parseTokens(strings.NewReader(text))
		if err != nil {
			return
		}
		for _, u := range tk {
			if u.Role != RoleViewer && u.Role != RoleOperator {
				t.Fatalf("role %q accepted", u.Role)
			}
		}
	})
}
