package httpprobe_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hardgate/hardgate/internal/probe/httpprobe"
	"github.com/hardgate/hardgate/internal/probe/neterr"
)

// hangGuard bounds every probe call: far above any deadline a test sets, so
// it only fires when a probe hangs, never as a timing assertion.
const hangGuard = 20 * time.Second

const token = "s3cr3t-device-token-0123456789abcdef"

// do runs p.Do under the hang guard. Only the probe runs in the goroutine;
// every t call stays on the test goroutine.
func do(tb testing.TB, ctx context.Context, p *httpprobe.Prober, req httpprobe.Request) httpprobe.Observation {
	tb.Helper()
	done := make(chan httpprobe.Observation, 1)
	go func() { done <- p.Do(ctx, req) }()
	select {
	case obs := <-done:
		return obs
	case <-time.After(hangGuard):
		tb.Fatalf("%s %s did not return within %s", req.Method, req.URL, hangGuard)
		return httpprobe.Observation{}
	}
}

// server starts a loopback HTTP server that is closed when the test ends.
func server(tb testing.TB, h http.Handler) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv
}

// rawListener accepts connections on 127.0.0.1, answers the first bytes the
// client sends with greeting (if any) and then holds each connection open
// without another byte until the test ends.
// hangUpListener reads the start of each connection (the ClientHello)
// and closes it, and returns its address.
func hangUpListener(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Read(make([]byte, 4096))
			c.Close()
		}
	}()
	return ln.Addr().String()
}

func rawListener(tb testing.TB, greeting string) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var (
		mu      sync.Mutex
		conns   []net.Conn
		accept  sync.WaitGroup
		answers sync.WaitGroup
	)
	accept.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			if greeting != "" {
				// Answer only once the request (or ClientHello) has begun:
				// bytes sent before it are an unsolicited response.
				answers.Go(func() {
					if _, err := c.Read(make([]byte, 4096)); err == nil {
						_, _ = io.WriteString(c, greeting)
					}
				})
			}
		}
	})
	tb.Cleanup(func() {
		ln.Close()
		accept.Wait()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		answers.Wait()
	})
	return ln.Addr().String()
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// endless writes chunk until the client goes away.
func endless(chunk []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
}

// trickle sends the status and headers at once, then one byte of body
// every interval until the client goes away.
func trickle(interval time.Duration, prefix []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(prefix)
		w.(http.Flusher).Flush()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
				if _, err := w.Write([]byte("x")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
		}
	}
}

func TestARedirectIsReportedAndNotFollowed(t *testing.T) {
	for _, code := range []int{
		http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect,
	} {
		for _, method := range []string{"GET", "POST"} {
			t.Run("a "+method+" answered by "+http.StatusText(code)+" stays at the first server", func(t *testing.T) {
				var targetHits atomic.Int64
				target := server(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					targetHits.Add(1)
					w.WriteHeader(http.StatusAccepted)
				}))
				location := target.URL + "/elsewhere"
				origin := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, location, code)
				}))
				p := httpprobe.New(httpprobe.Options{Timeout: 5 * time.Second})
				obs := do(t, t.Context(), p, httpprobe.Request{Method: method, URL: origin.URL + "/v1/ingest", Body: []byte(`{}`)})
				if !obs.Responded() || obs.Err != nil {
					t.Fatalf("no response: %v (%s)", obs.Err, obs.ErrKind)
				}
				if obs.StatusCode != code || obs.Exchange.StatusCode != code {
					t.Errorf("status = %d, evidence %d; want %d", obs.StatusCode, obs.Exchange.StatusCode, code)
				}
				if got := obs.Exchange.ResponseHeaders["Location"]; got != location {
					t.Errorf("evidence Location = %q, want %q", got, location)
				}
				if n := targetHits.Load(); n != 0 {
					t.Errorf("the redirect target received %d requests, want 0", n)
				}
			})
		}
	}
}

func TestTheBodyIsReadUpToTheCapAndExcerpted(t *testing.T) {
	tests := []struct {
		name          string
		handler       http.HandlerFunc
		opts          httpprobe.Options
		wantExcerpt   string // exact excerpt when set
		wantMax       int    // excerpt length bound
		wantTruncated bool
	}{
		{
			name:        "a short body is kept whole",
			handler:     func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"ok":true}`) },
			wantExcerpt: `{"ok":true}`, wantMax: 512,
		},
		{
			name:          "a body longer than the excerpt is cut to 512 bytes and marked truncated",
			handler:       func(w http.ResponseWriter, _ *http.Request) { w.Write(bytes.Repeat([]byte("b"), 2000)) },
			wantExcerpt:   strings.Repeat("b", 512),
			wantMax:       512,
			wantTruncated: true,
		},
		{
			name:          "an endless body is cut at the default read cap",
			handler:       endless(bytes.Repeat([]byte("A"), 32<<10)),
			wantExcerpt:   strings.Repeat("A", 512),
			wantMax:       512,
			wantTruncated: true,
		},
		{
			name:          "an endless body is cut at a small read cap",
			handler:       endless(bytes.Repeat([]byte("A"), 1<<10)),
			opts:          httpprobe.Options{MaxBody: 100},
			wantExcerpt:   strings.Repeat("A", 100),
			wantMax:       100,
			wantTruncated: true,
		},
		{
			name:          "an excerpt asked larger than 512 bytes is clamped to 512",
			handler:       endless(bytes.Repeat([]byte("A"), 32<<10)),
			opts:          httpprobe.Options{Excerpt: 4096},
			wantExcerpt:   strings.Repeat("A", 512),
			wantMax:       512,
			wantTruncated: true,
		},
		{
			name:          "a smaller excerpt is honoured",
			handler:       func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "0123456789") },
			opts:          httpprobe.Options{Excerpt: 4},
			wantExcerpt:   "0123",
			wantMax:       4,
			wantTruncated: true,
		},
		{
			name:          "an excerpt ending inside a multi-byte rune is cut before the rune",
			handler:       func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "abc€def") }, // € is 3 bytes
			opts:          httpprobe.Options{Excerpt: 5},
			wantExcerpt:   "abc",
			wantMax:       5,
			wantTruncated: true,
		},
		{
			name:        "a body that is not UTF-8 is kept as valid text",
			handler:     func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte{'o', 'k', 0xff, 0xfe}) },
			wantExcerpt: "ok?", wantMax: 512,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := server(t, tt.handler)
			// A long request deadline: if the cap did not stop the read of an
			// endless body, the hang guard would fire first.
			tt.opts.Timeout = time.Minute
			p := httpprobe.New(tt.opts)
			obs := do(t, t.Context(), p, httpprobe.Request{Method: "GET", URL: srv.URL})
			ex := obs.Exchange
			if !obs.Responded() || ex.StatusCode != http.StatusOK {
				t.Fatalf("no 200 response: status %d, err %v", ex.StatusCode, obs.Err)
			}
			if len(ex.BodyExcerpt) > tt.wantMax {
				t.Errorf("excerpt is %d bytes, want at most %d", len(ex.BodyExcerpt), tt.wantMax)
			}
			if ex.BodyExcerpt != tt.wantExcerpt {
				t.Errorf("excerpt = %.40q (%d bytes), want %.40q (%d bytes)", ex.BodyExcerpt, len(ex.BodyExcerpt), tt.wantExcerpt, len(tt.wantExcerpt))
			}
			if !utf8.ValidString(ex.BodyExcerpt) {
				t.Errorf("excerpt is not valid UTF-8: %q", ex.BodyExcerpt)
			}
			if ex.BodyTruncated != tt.wantTruncated {
				t.Errorf("truncated = %v, want %v", ex.BodyTruncated, tt.wantTruncated)
			}
			if ex.Error != "" {
				t.Errorf("evidence error = %q, want none", ex.Error)
			}
		})
	}
}

func TestASlowOrSilentServerEndsAtTheDeadline(t *testing.T) {
	const deadline = 200 * time.Millisecond
	tests := []struct {
		name string
		// url starts the server and returns the URL to probe.
		url func(t *testing.T) string
		// ctxTimeout, when set, is the caller's deadline; the prober's own
		// is then a minute, so only the caller's can end the request.
		ctxTimeout    time.Duration
		wantResponded bool
	}{
		{
			name: "a server that accepts and never answers times out",
			url:  func(t *testing.T) string { return "http://" + rawListener(t, "") + "/v1/ingest" },
		},
		{
			name: "a server that sends a status line and never ends the headers times out",
			url:  func(t *testing.T) string { return "http://" + rawListener(t, "HTTP/1.1 200 OK\r\n") + "/v1/ingest" },
		},
		{
			name: "a TLS server that never completes the handshake times out",
			url:  func(t *testing.T) string { return "https://" + rawListener(t, "") + "/v1/ingest" },
		},
		{
			name:          "a body trickled byte by byte is cut at the deadline and the cut is recorded",
			url:           func(t *testing.T) string { return server(t, trickle(20*time.Millisecond, nil)).URL },
			wantResponded: true,
		},
		{
			name: "a body cut by the deadline after more than an excerpt still records the cut",
			url: func(t *testing.T) string {
				return server(t, trickle(20*time.Millisecond, bytes.Repeat([]byte("y"), 600))).URL
			},
			wantResponded: true,
		},
		{
			name:       "the caller's deadline ends a silent server before the prober's own",
			url:        func(t *testing.T) string { return "http://" + rawListener(t, "") + "/v1/ingest" },
			ctxTimeout: deadline,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := httpprobe.Options{Timeout: deadline, InsecureSkipVerify: true}
			ctx := t.Context()
			if tt.ctxTimeout > 0 {
				opts.Timeout = time.Minute
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxTimeout)
				defer cancel()
			}
			p := httpprobe.New(opts)
			obs := do(t, ctx, p, httpprobe.Request{Method: "POST", URL: tt.url(t), Body: []byte(`{}`)})
			if tt.wantResponded {
				if !obs.Responded() || obs.StatusCode != http.StatusOK {
					t.Fatalf("the status arrived but was not kept: status %d, err %v", obs.StatusCode, obs.Err)
				}
				if !strings.HasPrefix(obs.Exchange.Error, "reading body: ") {
					t.Errorf("evidence error = %q, want the body read cut by the deadline", obs.Exchange.Error)
				}
				return
			}
			if obs.Err == nil || obs.Responded() || obs.StatusCode != 0 {
				t.Fatalf("want an error and no response, got status %d err %v", obs.StatusCode, obs.Err)
			}
			if obs.ErrKind != neterr.Timeout {
				t.Errorf("error kind = %q (%v), want %q", obs.ErrKind, obs.Err, neterr.Timeout)
			}
			if obs.Exchange.Error == "" {
				t.Error("the evidence does not carry the error")
			}
		})
	}
}

func TestTheValidTokenIsRedactedFromTheEvidence(t *testing.T) {
	// echo is a gateway that reflects whatever it was sent into every
	// place a response can carry text.
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ := io.ReadAll(r.Body)
		all := r.Header.Get("Authorization") + " " + r.Header.Get("X-Device-Token") + " " + r.URL.RawQuery + " " + string(got)
		w.Header().Set("Location", "https://127.0.0.1/login?echo="+all)
		w.Header().Set("Www-Authenticate", `Bearer error="invalid_token", token="`+all+`"`)
		w.Header().Set("Server", "echo "+all)
		w.Header().Set("X-Echo", all)
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, "you sent "+all)
	})
	tests := []struct {
		name    string
		url     func(t *testing.T) string
		req     httpprobe.Request
		secrets []string
		// check asserts where the redaction marker must appear.
		check func(t *testing.T, obs httpprobe.Observation)
	}{
		{
			name: "a token in Authorization and echoed into the response headers and body is redacted",
			url:  func(t *testing.T) string { return server(t, echo).URL + "/v1/ingest" },
			req:  httpprobe.Request{Method: "POST", Headers: map[string]string{"Authorization": "Bearer " + token}},
			check: func(t *testing.T, obs httpprobe.Observation) {
				ex := obs.Exchange
				if got := ex.RequestHeaders["Authorization"]; got != "Bearer [REDACTED]" {
					t.Errorf("request Authorization = %q, want the scheme kept and the token redacted", got)
				}
				for _, h := range []string{"Location", "Www-Authenticate", "Server"} {
					if !strings.Contains(ex.ResponseHeaders[h], "[REDACTED]") {
						t.Errorf("response %s = %q, want the echoed token redacted", h, ex.ResponseHeaders[h])
					}
				}
				if _, ok := ex.ResponseHeaders["X-Echo"]; ok {
					t.Error("an unselected response header reached the evidence")
				}
				if !strings.Contains(ex.BodyExcerpt, "[REDACTED]") {
					t.Errorf("body excerpt = %q, want the echoed token redacted", ex.BodyExcerpt)
				}
			},
		},
		{
			name: "a bare Authorization value is redacted whole",
			url:  func(t *testing.T) string { return server(t, echo).URL },
			req:  httpprobe.Request{Method: "GET", Headers: map[string]string{"Authorization": token}},
			check: func(t *testing.T, obs httpprobe.Observation) {
				if got := obs.Exchange.RequestHeaders["Authorization"]; got != "[REDACTED]" {
					t.Errorf("request Authorization = %q, want [REDACTED]", got)
				}
			},
		},
		{
			name: "a token in another request header, the query and the request body is redacted",
			url:  func(t *testing.T) string { return server(t, echo).URL + "/v1/ingest?token=" + token },
			req: httpprobe.Request{Method: "POST", Headers: map[string]string{"X-Device-Token": token},
				Body: []byte(`{"token":"` + token + `"}`)},
			check: func(t *testing.T, obs httpprobe.Observation) {
				ex := obs.Exchange
				for field, v := range map[string]string{
					"url": ex.URL, "request header X-Device-Token": ex.RequestHeaders["X-Device-Token"],
					"request body": ex.RequestBody, "body excerpt": ex.BodyExcerpt,
				} {
					if !strings.Contains(v, "[REDACTED]") {
						t.Errorf("%s = %q, want the token redacted", field, v)
					}
				}
			},
		},
		{
			name: "a token that straddles the excerpt's end leaves no visible part",
			url: func(t *testing.T) string {
				return server(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					io.WriteString(w, strings.Repeat(".", 500)+token+strings.Repeat(".", 500))
				})).URL
			},
			req: httpprobe.Request{Method: "GET"},
			check: func(t *testing.T, obs httpprobe.Observation) {
				ex := obs.Exchange
				if strings.Contains(ex.BodyExcerpt, token[:8]) {
					t.Errorf("excerpt ends with part of the token: %q", ex.BodyExcerpt[len(ex.BodyExcerpt)-20:])
				}
				if want := strings.Repeat(".", 500) + "[REDACTED].."; ex.BodyExcerpt != want {
					t.Errorf("excerpt = %q, want 500 dots, the marker and 2 dots (512 bytes)", ex.BodyExcerpt)
				}
			},
		},
		{
			name: "a token in the URL of a request that failed is redacted from the error",
			url:  func(t *testing.T) string { return "http://" + closedAddr(t) + "/v1/ingest?token=" + token },
			req:  httpprobe.Request{Method: "POST"},
			check: func(t *testing.T, obs httpprobe.Observation) {
				if obs.ErrKind != neterr.Refused {
					t.Errorf("error kind = %q, want %q", obs.ErrKind, neterr.Refused)
				}
				if !strings.Contains(obs.Exchange.Error, "[REDACTED]") {
					t.Errorf("evidence error = %q, want the URL's token redacted", obs.Exchange.Error)
				}
			},
		},
		{
			name: "a token the gateway echoes percent-encoded or in base64 is redacted too",
			url: func(t *testing.T) string {
				const odd = "abc+def/ghi=="
				return server(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Location", "https://127.0.0.1/login?t="+url.QueryEscape(odd)+"&p=/"+url.PathEscape(odd))
					w.Header().Set("Www-Authenticate", "Basic realm="+base64.StdEncoding.EncodeToString([]byte(odd)))
					w.WriteHeader(http.StatusFound)
				})).URL
			},
			req:     httpprobe.Request{Method: "GET"},
			secrets: []string{"abc+def/ghi=="},
			check: func(t *testing.T, obs httpprobe.Observation) {
				const odd = "abc+def/ghi=="
				ex := obs.Exchange
				for _, enc := range []string{url.QueryEscape(odd), url.PathEscape(odd), base64.StdEncoding.EncodeToString([]byte(odd))} {
					for h, v := range ex.ResponseHeaders {
						if strings.Contains(v, enc) {
							t.Errorf("response %s = %q still shows the token encoded as %q", h, v, enc)
						}
					}
				}
				if strings.Count(ex.ResponseHeaders["Location"], "[REDACTED]") != 2 || !strings.Contains(ex.ResponseHeaders["Www-Authenticate"], "[REDACTED]") {
					t.Errorf("Location %q, Www-Authenticate %q: want each encoded token redacted", ex.ResponseHeaders["Location"], ex.ResponseHeaders["Www-Authenticate"])
				}
			},
		},
		{
			name:    "every configured secret is redacted and empty secrets are ignored",
			url:     func(t *testing.T) string { return server(t, echo).URL },
			req:     httpprobe.Request{Method: "GET", Headers: map[string]string{"X-Device-Token": token + " other-secret-42"}},
			secrets: []string{"", token, "other-secret-42"},
			check: func(t *testing.T, obs httpprobe.Observation) {
				if strings.Contains(obs.Exchange.BodyExcerpt, "other-secret-42") {
					t.Errorf("second secret in the excerpt: %q", obs.Exchange.BodyExcerpt)
				}
				if strings.Count(obs.Exchange.RequestHeaders["X-Device-Token"], "[REDACTED]") != 2 {
					t.Errorf("X-Device-Token = %q, want both secrets redacted", obs.Exchange.RequestHeaders["X-Device-Token"])
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secrets := tt.secrets
			if secrets == nil {
				secrets = []string{token}
			}
			p := httpprobe.New(httpprobe.Options{Timeout: 5 * time.Second, Secrets: secrets})
			req := tt.req
			req.URL = tt.url(t)
			obs := do(t, t.Context(), p, req)
			b, err := json.Marshal(obs.Evidence("probe"))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range secrets {
				if s != "" && bytes.Contains(b, []byte(s)) {
					t.Fatalf("a secret appears in the evidence:\n%s", b)
				}
			}
			tt.check(t, obs)
		})
	}
}

func TestAMadeUpProbeCredentialIsKeptInTheEvidence(t *testing.T) {
	srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) }))
	p := httpprobe.New(httpprobe.Options{Secrets: []string{token}})
	const invalid = "Bearer hardgate-probe-invalid-hg-test"
	obs := do(t, t.Context(), p, httpprobe.Request{Method: "POST", URL: srv.URL, Headers: map[string]string{"Authorization": invalid}})
	if got := obs.Exchange.RequestHeaders["Authorization"]; got != invalid {
		t.Errorf("Authorization = %q, want the made-up credential %q shown", got, invalid)
	}
}

func TestTheEvidenceRecordsTheExchange(t *testing.T) {
	type seen struct {
		method, path, ua, probe, body string
	}
	tests := []struct {
		name      string
		opts      httpprobe.Options
		req       httpprobe.Request
		wantUA    string
		wantProbe string
	}{
		{
			name:      "a POST is recorded with its marker header, body and the default user agent",
			req:       httpprobe.Request{Method: "POST", Headers: map[string]string{httpprobe.ProbeHeader: "hg-test", "Content-Type": "application/json"}, Body: []byte(`{"_hardgate_probe":true}`)},
			wantUA:    "hardgate-audit",
			wantProbe: "hg-test",
		},
		{
			name:   "a GET is recorded with a custom user agent and no marker when none is given",
			opts:   httpprobe.Options{UserAgent: "hardgate-audit/hg-1"},
			req:    httpprobe.Request{Method: "GET"},
			wantUA: "hardgate-audit/hg-1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan seen, 1)
			srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got <- seen{r.Method, r.URL.Path, r.UserAgent(), r.Header.Get("X-Hardgate-Probe"), string(b)}
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Retry-After", "30")
				w.Header().Set("Set-Cookie", "session=abc")
				w.Header().Set("X-Internal", "do-not-keep")
				w.WriteHeader(http.StatusAccepted)
				io.WriteString(w, `{"batch_id":"b1"}`)
			}))
			p := httpprobe.New(tt.opts)
			url := srv.URL + "/v1/ingest"
			req := tt.req
			req.URL = url
			obs := do(t, t.Context(), p, req)

			s := <-got
			if s.method != tt.req.Method || s.path != "/v1/ingest" || s.ua != tt.wantUA || s.probe != tt.wantProbe || s.body != string(tt.req.Body) {
				t.Errorf("server saw %+v", s)
			}
			ex := obs.Exchange
			if ex.Method != tt.req.Method || ex.URL != url || ex.StatusCode != http.StatusAccepted || obs.StatusCode != http.StatusAccepted {
				t.Errorf("evidence = %s %s → %d, want %s %s → 202", ex.Method, ex.URL, ex.StatusCode, tt.req.Method, url)
			}
			if ex.RequestHeaders["User-Agent"] != tt.wantUA || ex.RequestHeaders["X-Hardgate-Probe"] != tt.wantProbe {
				t.Errorf("request headers = %v, want User-Agent %q and X-Hardgate-Probe %q", ex.RequestHeaders, tt.wantUA, tt.wantProbe)
			}
			if ex.RequestBody != string(tt.req.Body) || ex.BodyExcerpt != `{"batch_id":"b1"}` {
				t.Errorf("bodies = %q / %q", ex.RequestBody, ex.BodyExcerpt)
			}
			want := map[string]string{"Content-Type": "application/json", "Retry-After": "30", "Content-Length": "17"}
			if len(ex.ResponseHeaders) != len(want) {
				t.Errorf("response headers = %v, want exactly %v", ex.ResponseHeaders, want)
			}
			for k, v := range want {
				if ex.ResponseHeaders[k] != v {
					t.Errorf("response header %s = %q, want %q", k, ex.ResponseHeaders[k], v)
				}
			}
			if obs.Header.Get("X-Internal") != "do-not-keep" {
				t.Error("the full response headers are not on the observation")
			}
			if ex.TLSVersion != "" || ex.TLSVerified {
				t.Errorf("plaintext exchange records TLS %q verified=%v", ex.TLSVersion, ex.TLSVerified)
			}
			ev := obs.Evidence("unauthenticated")
			if wantSum := "unauthenticated " + tt.req.Method + " " + url + " → 202"; ev.Kind != "http" || ev.Summary != wantSum || ev.HTTP == nil || ev.HTTP.StatusCode != 202 {
				t.Errorf("evidence = %q %q, want http %q", ev.Kind, ev.Summary, wantSum)
			}
		})
	}
}

func TestEachRequestUsesItsOwnConnection(t *testing.T) {
	var newConns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			newConns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	p := httpprobe.New(httpprobe.Options{})
	for range 3 {
		if obs := do(t, t.Context(), p, httpprobe.Request{Method: "GET", URL: srv.URL}); !obs.Responded() {
			t.Fatalf("no response: %v", obs.Err)
		}
	}
	if n := newConns.Load(); n != 3 {
		t.Errorf("3 requests opened %d connections, want 3 (no reuse)", n)
	}
}

func TestErrorsAreClassifiedAndTLSIsRecorded(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(tlsSrv.Close)
	trusted := x509.NewCertPool()
	trusted.AddCert(tlsSrv.Certificate())
	tests := []struct {
		name         string
		opts         httpprobe.Options
		url          string
		wantKind     neterr.Kind // "" when a response is expected
		wantTLS      bool
		wantVerified bool
	}{
		{name: "a closed port is connection_refused", url: "http://" + closedAddr(t) + "/", wantKind: neterr.Refused},
		{name: "a certificate from an unknown CA is tls_unverified", url: tlsSrv.URL, wantKind: neterr.TLSVerify},
		// A TLS alert (handshake_failure) in answer to the ClientHello.
		{name: "a server that rejects the handshake is tls_handshake", url: "https://" + rawListener(t, "\x15\x03\x03\x00\x02\x02\x28") + "/", wantKind: neterr.TLSHandshake},
		// A server that closes the connection after the ClientHello: the
		// EOF ends a handshake, so it is a handshake failure, not "other".
		{name: "a server that hangs up during the handshake is tls_handshake", url: "https://" + hangUpListener(t) + "/", wantKind: neterr.TLSHandshake},
		{name: "a server that answers TLS with plaintext HTTP is tls_handshake", url: "https://" + rawListener(t, "HTTP/1.1 400 Bad Request\r\n\r\n") + "/", wantKind: neterr.TLSHandshake},
		{name: "a malformed URL is other", url: "http://127.0.0.1:bad/", wantKind: neterr.Other},
		{name: "a trusted certificate is recorded as verified", opts: httpprobe.Options{RootCAs: trusted}, url: tlsSrv.URL, wantTLS: true, wantVerified: true},
		{name: "a skipped verification is recorded as unverified", opts: httpprobe.Options{InsecureSkipVerify: true}, url: tlsSrv.URL, wantTLS: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Timeout = 5 * time.Second
			obs := do(t, t.Context(), httpprobe.New(tt.opts), httpprobe.Request{Method: "GET", URL: tt.url})
			ex := obs.Exchange
			if tt.wantKind != "" {
				if obs.Responded() || obs.ErrKind != tt.wantKind || ex.Error == "" {
					t.Fatalf("kind = %q (%v), evidence error %q; want %q and no response", obs.ErrKind, obs.Err, ex.Error, tt.wantKind)
				}
				if ev := obs.Evidence("x"); !strings.HasSuffix(ev.Summary, "no response ("+string(tt.wantKind)+")") {
					t.Errorf("summary = %q, want it to name the error kind", ev.Summary)
				}
				return
			}
			if !obs.Responded() || obs.ErrKind != "" {
				t.Fatalf("no response: %v (%s)", obs.Err, obs.ErrKind)
			}
			if (ex.TLSVersion != "") != tt.wantTLS || !strings.HasPrefix(ex.TLSVersion, "TLS") || ex.TLSVerified != tt.wantVerified {
				t.Errorf("TLS = %q verified=%v, want verified=%v", ex.TLSVersion, ex.TLSVerified, tt.wantVerified)
			}
		})
	}
}
