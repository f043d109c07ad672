package audit

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

// TestNoPieceOfTheTokenReachesTheResult runs an audit against a gateway
// that echoes most of whatever bearer token it gets: truncated, split in
// two around other text, percent-encoded in a Location and base64-encoded
// in a header. No piece of 8 bytes or more of the valid token may be
// recorded anywhere in the result.
func TestNoPieceOfTheTokenReachesTheResult(t *testing.T) {
	srv, caFile := tlsGateway(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if len(tok) < 12 {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		half := len(tok) / 2
		w.Header().Set("Location", "https://127.0.0.1/retry?t="+url.QueryEscape(tok[:len(tok)-2]))
		w.Header().Set("Www-Authenticate", `Bearer error="invalid_token", hint="`+base64.StdEncoding.EncodeToString([]byte(tok[1:len(tok)-1]))+`"`)
		w.Header().Set("Server", "echo/"+tok[2:14])
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "token %s... (%d bytes) first=%s last=%s", tok[:len(tok)-4], len(tok), tok[:half], tok[half:])
	}))
	t.Setenv("HG_TEST_TOKEN", testToken)
	res := mustRun(t, &spec.Target{Ingest: spec.Ingest{URLs: []string{srv.URL + "/v1/ingest"}, CAFile: caFile, TokenEnv: "HG_TEST_TOKEN"}})
	var buf bytes.Buffer
	if err := result.Encode(&buf, res); err != nil {
		t.Fatal(err)
	}
	doc := buf.String()
	for i := 0; i+8 <= len(testToken); i++ {
		if p := testToken[i : i+8]; strings.Contains(doc, p) {
			t.Errorf("the piece %q of the valid token is in the result", p)
		}
	}
	for _, shift := range []int{0, 1, 2} {
		enc := base64.StdEncoding.EncodeToString([]byte(testToken[shift:]))
		for i := 0; i+12 <= len(enc)-4; i++ {
			if p := enc[i : i+12]; strings.Contains(doc, p) {
				t.Errorf("the base64 piece %q of the valid token is in the result", p)
			}
		}
	}
	if !strings.Contains(doc, "[REDACTED]") {
		t.Fatal("no redaction marker: was the valid token sent and echoed at all?")
	}
}
