package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/auth"
	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/server"
	"github.com/hardgate/hardgate/internal/pki"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

// gatewayCheckingOnly answers 202 to every POST whose bearer token accept
// likes and 401 to the rest.
func gatewayCheckingOnly(accept func(token string) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !accept(tok) {
			w.Header().Set("WWW-Authenticate", "Bearer")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"records":1}`)
	})
}

// jwtSecret signs the test JWTs (HS256).
var jwtSecret = []byte("jwt-test-signing-key")

func signedJWT() string {
	enc := base64.RawURLEncoding.EncodeToString
	signing := enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc([]byte(`{"sub":"device-01","scope":"ingest"}`))
	mac := hmac.New(sha256.New, jwtSecret)
	mac.Write([]byte(signing))
	return signing + "." + enc(mac.Sum(nil))
}

// verifyJWT checks an HS256 JWT, or, like the classic bug, trusts a
// header that says alg none when trustNone.
func verifyJWT(tok string, trustNone bool) bool {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return false
	}
	var h struct{ Alg string }
	if json.Unmarshal(raw, &h) != nil {
		return false
	}
	if strings.EqualFold(h.Alg, "none") {
		return trustNone
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, jwtSecret)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	return hmac.Equal(sig, mac.Sum(nil))
}

func TestANearMissOfTheValidTokenAcceptedFails(t *testing.T) {
	const idToken = "igd.AbCdEfGhIjKl.k3Jx9-Qw_ErTyUiOpAsDfGhJkLzXcVbNm1234567890ab"
	jwt := signedJWT()
	tests := []struct {
		name, token string
		accept      func(tok string) bool
		variant     string
	}{
		{"a gateway that checks only the token's id", idToken,
			func(tok string) bool { return strings.HasPrefix(tok, "igd.AbCdEfGhIjKl.") && len(tok) == len(idToken) },
			"secret part changed: the first 17 of"},
		{"a gateway that compares only as many bytes as it was given", idToken,
			func(tok string) bool { return len(tok) > 20 && strings.HasPrefix(idToken, tok) },
			"truncated: the last"},
		{"a gateway that trusts alg none", jwt,
			func(tok string) bool { return verifyJWT(tok, true) },
			`alg "none"`},
		{"a gateway that ignores the signature", jwt,
			func(tok string) bool { return strings.HasPrefix(tok, jwt[:strings.LastIndexByte(jwt, '.')+1]) },
			"broken signature"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, caFile := tlsGateway(t, gatewayCheckingOnly(func(tok string) bool { return tok == tc.token || tc.accept(tok) }))
			t.Setenv("HG_TEST_TOKEN", tc.token)
			res := mustRun(t, &spec.Target{Ingest: spec.Ingest{URLs: []string{srv.URL + "/v1/ingest"}, CAFile: caFile, TokenEnv: "HG_TEST_TOKEN"}})
			wantStatus(t, res, map[string]result.Status{
				"ingest_auth.invalid_token_accepted":        result.StatusFail,
				"ingest_auth.authenticated_ingest_rejected": result.StatusPass,
			})
			c := control(t, res, "ingest_auth.invalid_token_accepted")
			if !strings.Contains(c.Reason, "near miss of the valid token") || !strings.Contains(c.Reason, tc.variant) || !strings.Contains(c.Reason, "accepted with 202") {
				t.Errorf("reason %q does not name the accepted near miss %q", c.Reason, tc.variant)
			}
			named := false
			for _, e := range c.Evidence {
				named = named || strings.Contains(e.Summary, tc.variant) && strings.Contains(e.Summary, "202")
			}
			if !named {
				t.Errorf("no evidence names the variant %q", tc.variant)
			}
			var buf bytes.Buffer
			if err := result.Encode(&buf, res); err != nil {
				t.Fatal(err)
			}
			for i := 0; i+8 <= len(tc.token); i++ {
				if strings.Contains(buf.String(), tc.token[i:i+8]) {
					t.Fatalf("a piece of the valid token (%q) is in the result", tc.token[i:i+8])
				}
			}
		})
	}
}

// startIngestdWithToken runs the real ingestd (hardened defaults) and
// returns its ingest URL, the CA file and a valid device token.
func startIngestdWithToken(t *testing.T) (string, string, string) {
	t.Helper()
	dir := t.TempDir()
	certs, err := pki.WriteFiles(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tokens := filepath.Join(dir, "tokens.yaml")
	token, err := auth.AddToken(tokens, "device-01")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Listen.HTTPS = "127.0.0.1:0"
	cfg.TLS.CertFile, cfg.TLS.KeyFile = certs.Cert, certs.Key
	cfg.Auth.TokensFile = tokens
	cfg.Store.Dir = filepath.Join(dir, "store")
	srv, err := server.New(cfg, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
		cancel()
	})
	return "https://" + srv.HTTPSAddr() + "/v1/ingest", certs.CA, token
}

// TestIngestdRefusesEveryNearMissOfItsTokens: ingestd's tokens are
// "igd.<id>.<secret>"; it looks the id up and compares the whole secret's
// hash, so the near miss that keeps the id and the truncated one are 401.
func TestIngestdRefusesEveryNearMissOfItsTokens(t *testing.T) {
	url, caFile, token := startIngestdWithToken(t)
	if !strings.HasPrefix(token, auth.TokenPrefix) {
		t.Fatalf("ingestd token %q lacks the prefix %q", token[:4], auth.TokenPrefix)
	}
	t.Setenv("HG_TEST_TOKEN", token)
	res := mustRun(t, &spec.Target{Ingest: spec.Ingest{URLs: []string{url}, CAFile: caFile, TokenEnv: "HG_TEST_TOKEN"}})
	wantStatus(t, res, map[string]result.Status{
		"ingest_auth.invalid_token_accepted":        result.StatusPass,
		"ingest_auth.authenticated_ingest_rejected": result.StatusPass,
	})
	c := control(t, res, "ingest_auth.invalid_token_accepted")
	for _, want := range []string{"secret part changed: the first 17 of", "truncated: the last"} {
		if !strings.Contains(c.Reason, want) || !strings.Contains(c.Reason, "refused with 401") {
			t.Errorf("reason %q does not show the near miss %q refused with 401", c.Reason, want)
		}
	}
}

// TestNearMissesTravelOnlyOverVerifiedTLS: over plaintext the near misses
// (which hold most of the valid token) are not sent, and a refusal of the
// made-up token alone decides nothing.
func TestNearMissesTravelOnlyOverVerifiedTLS(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("HG_TEST_TOKEN", testToken)
	res := mustRun(t, &spec.Target{Ingest: spec.Ingest{URLs: []string{srv.URL + "/v1/ingest"}, TokenEnv: "HG_TEST_TOKEN"}})
	c := control(t, res, "ingest_auth.invalid_token_accepted")
	if c.Status != result.StatusError || !strings.Contains(c.Reason, "near-miss tokens were not sent") {
		t.Errorf("invalid_token_accepted = %s (%s), want error: the near misses could not be sent", c.Status, c.Reason)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, a := range seen {
		if strings.Contains(a, testToken[:8]) {
			t.Fatalf("a token holding the valid one's prefix went over plaintext: %d requests", len(seen))
		}
	}
}
