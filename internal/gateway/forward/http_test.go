package forward

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/queue"
)

// writeCA writes the certificate of a test TLS server as a PEM CA file.
func writeCA(tb testing.TB, ts *httptest.Server) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "upstream-ca.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

func sampleBatch() queue.Batch {
	return queue.Batch{
		ID:         queue.NewID(time.Now()),
		Device:     "pump-7",
		Records:    2,
		Body:       []byte("{\"t\":1}\n{\"t\":2}\n"),
		ReceivedAt: time.Now().UTC(),
	}
}

func TestHTTPDeliver(t *testing.T) {
	tests := []struct {
		name          string
		handler       http.HandlerFunc
		timeout       time.Duration
		wantErr       bool
		wantRetry     time.Duration
		wantErrSubstr string
	}{
		{name: "a 202 answer acknowledges the batch", handler: status(http.StatusAccepted)},
		{name: "a 200 answer acknowledges the batch", handler: status(http.StatusOK)},
		{name: "a 204 answer acknowledges the batch", handler: status(http.StatusNoContent)},
		{name: "a 500 answer is an error to retry", handler: status(http.StatusInternalServerError), wantErr: true, wantErrSubstr: "500"},
		{name: "a 401 answer is an error to retry", handler: status(http.StatusUnauthorized), wantErr: true, wantErrSubstr: "401"},
		{name: "a 429 answer carries its Retry-After", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		}, wantErr: true, wantRetry: 7 * time.Second, wantErrSubstr: "slow down"},
		{name: "a redirect is not followed and is an error", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		}, wantErr: true, wantErrSubstr: "307"},
		{name: "an upstream that does not answer in time is an error", handler: func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}, timeout: 100 * time.Millisecond, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type seenRequest struct {
				r    *http.Request
				body []byte
			}
			seen := make(chan seenRequest, 1)
			ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				select {
				case seen <- seenRequest{r: r.Clone(context.Background()), body: body}:
				default:
				}
				tt.handler(w, r)
			}))
			defer ts.Close()
			t.Setenv("UPSTREAM_TOKEN", "s3cret-upstream")
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			f, err := NewHTTP(config.ForwardHTTP{
				URL: ts.URL + "/ingest", CAFile: writeCA(t, ts), TokenEnv: "UPSTREAM_TOKEN", Timeout: config.Duration(timeout),
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			b := sampleBatch()
			err = f.Deliver(context.Background(), b)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Deliver error = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErrSubstr != "" && !strings.Contains(err.Error(), tt.wantErrSubstr) {
				t.Errorf("error %q does not mention %q", err, tt.wantErrSubstr)
			}
			if got := RetryAfterOf(err); got != tt.wantRetry {
				t.Errorf("RetryAfterOf = %v, want %v", got, tt.wantRetry)
			}
			var got *http.Request
			var body []byte
			select {
			case sr := <-seen:
				got, body = sr.r, sr.body
			case <-time.After(testDeadline):
				t.Fatal("the upstream saw no request")
			}
			for header, want := range map[string]string{
				"Content-Type":       ContentTypeNDJSON,
				HeaderIdempotencyKey: b.ID,
				HeaderDevice:         b.Device,
				HeaderRecords:        "2",
				"Authorization":      "Bearer s3cret-upstream",
			} {
				if v := got.Header.Get(header); v != want {
					t.Errorf("header %s = %q, want %q", header, v, want)
				}
			}
			if got.Method != http.MethodPost || got.URL.Path != "/ingest" {
				t.Errorf("request %s %s, want POST /ingest", got.Method, got.URL.Path)
			}
			if string(body) != string(b.Body) {
				t.Errorf("body %q, want %q", body, b.Body)
			}
		})
	}
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }
}

func TestHTTPVerifiesTLS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		server  func() *httptest.Server
		trusted bool
		wantErr bool
	}{
		{name: "an upstream with a certificate from the CA file is accepted", server: func() *httptest.Server {
			return httptest.NewTLSServer(status(http.StatusAccepted))
		}, trusted: true},
		{name: "an upstream whose certificate is not trusted is refused", server: func() *httptest.Server {
			return httptest.NewTLSServer(status(http.StatusAccepted))
		}, wantErr: true},
		{name: "an upstream limited to TLS 1.1 is refused", server: func() *httptest.Server {
			ts := httptest.NewUnstartedServer(status(http.StatusAccepted))
			ts.TLS = &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
			ts.StartTLS()
			return ts
		}, trusted: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := tt.server()
			defer ts.Close()
			cfg := config.ForwardHTTP{URL: ts.URL, Timeout: config.Duration(5 * time.Second)}
			if tt.trusted {
				cfg.CAFile = writeCA(t, ts)
			}
			f, err := NewHTTP(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			err = f.Deliver(context.Background(), sampleBatch())
			if (err != nil) != tt.wantErr {
				t.Fatalf("Deliver error = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestNewHTTPRefusesBadConfig(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SET_TOKEN", "tok")
	t.Setenv("EMPTY_TOKEN", "")
	tests := []struct {
		name  string
		cfg   config.ForwardHTTP
		field string
	}{
		{name: "a URL without a host is refused", cfg: config.ForwardHTTP{URL: "https:///x"}, field: "forward.http.url"},
		{name: "a non-http scheme is refused", cfg: config.ForwardHTTP{URL: "ftp://127.0.0.1/"}, field: "forward.http.url"},
		{name: "an empty token variable is refused", cfg: config.ForwardHTTP{URL: "https://127.0.0.1:1/", TokenEnv: "EMPTY_TOKEN"}, field: "forward.http.token_env"},
		{name: "a token over plaintext to a remote host is refused", cfg: config.ForwardHTTP{URL: "http://upstream.invalid/", TokenEnv: "SET_TOKEN"}, field: "forward.http.url"},
		{name: "a missing CA file is refused", cfg: config.ForwardHTTP{URL: "https://127.0.0.1:1/", CAFile: filepath.Join(t.TempDir(), "none.pem")}, field: "forward.http.ca_file"},
		{name: "a CA file without certificates is refused", cfg: config.ForwardHTTP{URL: "https://127.0.0.1:1/", CAFile: garbage}, field: "forward.http.ca_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewHTTP(tt.cfg, nil)
			if err == nil || !strings.HasPrefix(err.Error(), tt.field) {
				t.Fatalf("got %v, want an error naming %s", err, tt.field)
			}
		})
	}
	t.Run("a token over plaintext to loopback is allowed", func(t *testing.T) {
		if _, err := NewHTTP(config.ForwardHTTP{URL: "http://127.0.0.1:1/", TokenEnv: "SET_TOKEN"}, nil); err != nil {
			t.Fatal(err)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want time.Duration
	}{
		{name: "absent means no hint", in: "", want: 0},
		{name: "seconds are read", in: "30", want: 30 * time.Second},
		{name: "negative seconds are ignored", in: "-5", want: 0},
		{name: "an HTTP date in the future is read", in: now.Add(90 * time.Second).Format(http.TimeFormat), want: 90 * time.Second},
		{name: "an HTTP date in the past is ignored", in: now.Add(-time.Hour).Format(http.TimeFormat), want: 0},
		{name: "huge values are capped at a day", in: "999999999", want: 24 * time.Hour},
		{name: "garbage is ignored", in: "soon", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRetryAfter(tt.in, now); got != tt.want {
				t.Fatalf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "120", "-1", "Wed, 25 Nov 2026 18:00:00 GMT", "1e9", " 5 "} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d := parseRetryAfter(s, now)
		if d < 0 || d > 24*time.Hour {
			t.Fatalf("parseRetryAfter(%q) = %v, outside [0, 24h]", s, d)
		}
	})
}

func TestUpstreamErrorIsTyped(t *testing.T) {
	t.Parallel()
	err := error(&UpstreamError{Status: 503, BatchID: "b"})
	var ue *UpstreamError
	if !errors.As(err, &ue) || ue.Status != 503 {
		t.Fatalf("errors.As failed for %v", err)
	}
}
