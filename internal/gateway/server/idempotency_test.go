package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/forward"
	"github.com/hardgate/hardgate/internal/poll"
)

// postKeyed posts body to f with an Idempotency-Key (none when key is "")
// and returns the answer and its receipt.
func postKeyed(t *testing.T, f *fixture, key, body string) (answer, Receipt) {
	t.Helper()
	h := map[string]string{"Authorization": "Bearer " + f.token, "Content-Type": "application/json"}
	if key != "" {
		h[HeaderIdempotencyKey] = key
	}
	a := f.do(t, http.MethodPost, PathIngest, []byte(body), h)
	var rc Receipt
	if a.code == http.StatusAccepted {
		if err := json.Unmarshal(a.body, &rc); err != nil {
			t.Fatal(err)
		}
	}
	return a, rc
}

// TestIdempotencyKeys drives the contract over HTTPS with a forwarding
// ingestd: a retry with the same key and body answers with the first
// receipt and stores (so forwards) nothing; another body is 409; the key
// outlives the batch's delivery and a restart.
func TestIdempotencyKeys(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	delivered := map[string]int{}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		delivered[r.Header.Get(forward.HeaderIdempotencyKey)]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer upstream.Close()
	mutate := func(c *config.Config) {
		c.Limits.RatePerDevice = 0
		c.Forward.Kind, c.Forward.HTTP.URL = "http", upstream.URL+"/telemetry"
	}
	f := startFixture(t, mutate)
	const body = `{"seq":1,"temperature_c":21.5}`

	first, rc := postKeyed(t, f, "order-42", body)
	if first.code != 202 || first.header.Get(headerReplayed) != "" {
		t.Fatalf("first request: %d %s (replayed %q)", first.code, first.body, first.header.Get(headerReplayed))
	}
	poll.Until(t, "the batch to be forwarded", func() bool { s, _ := f.srv.queueStats(); return s.Batches == 0 })

	again, rc2 := postKeyed(t, f, "order-42", body)
	if again.code != 202 || rc2 != rc || again.header.Get(headerReplayed) != "true" {
		t.Fatalf("retry: %d %+v replayed %q; want 202 with the first receipt %+v", again.code, rc2, again.header.Get(headerReplayed), rc)
	}
	if s, _ := f.srv.queueStats(); s.Batches != 0 {
		t.Fatalf("the retry stored a batch (%d queued): it would be forwarded again", s.Batches)
	}
	gzipped := f.do(t, http.MethodPost, PathIngest, gzipBytes(t, []byte(body)), map[string]string{
		"Authorization": "Bearer " + f.token, "Content-Encoding": "gzip", HeaderIdempotencyKey: "order-42"})
	if gzipped.code != 202 || !strings.Contains(string(gzipped.body), rc.BatchID) {
		t.Fatalf("the same records gzipped: %d %s; want the first receipt", gzipped.code, gzipped.body)
	}
	if conflict, _ := postKeyed(t, f, "order-42", `{"seq":2}`); conflict.code != 409 || !strings.Contains(string(conflict.body), "idempotency_key_reused") {
		t.Fatalf("same key, other body: %d %s; want 409", conflict.code, conflict.body)
	}
	if other, rc3 := postKeyed(t, f, "order-43", body); other.code != 202 || rc3.BatchID == rc.BatchID {
		t.Fatalf("another key: %d %+v; want a new batch", other.code, rc3)
	}
	if plain, rc4 := postKeyed(t, f, "", body); plain.code != 202 || rc4.BatchID == rc.BatchID {
		t.Fatalf("no key: %d %+v; want a new batch", plain.code, rc4)
	}
	if n := gaugeValue(t, f, "ingestd_ingest_idempotent_replays_total"); n != 2 {
		t.Errorf("ingestd_ingest_idempotent_replays_total = %v, want 2", n)
	}

	// The key survives a restart on the same store.
	f.shutdown(t)
	srv, err := New(f.cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Shutdown(context.Background()) }()
	f.srv, f.base = srv, "https://"+srv.HTTPSAddr()
	f.client.Transport.(*http.Transport).CloseIdleConnections()
	after, rc5 := postKeyed(t, f, "order-42", body)
	if after.code != 202 || rc5 != rc {
		t.Fatalf("after a restart: %d %+v; want the first receipt %+v", after.code, rc5, rc)
	}
	mu.Lock()
	defer mu.Unlock()
	if delivered[rc.BatchID] != 1 {
		t.Errorf("the keyed batch reached the upstream %d times, want once", delivered[rc.BatchID])
	}
}

func TestIdempotencyKeyFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values []string
		want   string // the key ("" when refused or absent)
		bad    bool
	}{
		{name: "no header is no key", values: nil},
		{name: "a UUID is a key", values: []string{"3f2b8c1e-6d2a-4b8e-9f1a-2c3d4e5f6a7b"}, want: "3f2b8c1e-6d2a-4b8e-9f1a-2c3d4e5f6a7b"},
		{name: "printable ASCII with spaces is a key", values: []string{"batch 7 ~!@#"}, want: "batch 7 ~!@#"},
		{name: "128 characters is a key", values: []string{strings.Repeat("k", 128)}, want: strings.Repeat("k", 128)},
		{name: "129 characters is refused", values: []string{strings.Repeat("k", 129)}, bad: true},
		{name: "an empty key is refused", values: []string{""}, bad: true},
		{name: "a control character is refused", values: []string{"a\x01b"}, bad: true},
		{name: "non-ASCII is refused", values: []string{"clé"}, bad: true},
		{name: "two keys are refused", values: []string{"a", "b"}, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.values {
				h.Add(HeaderIdempotencyKey, v)
			}
			got, err := idempotencyKey(h)
			if (err != nil) != tt.bad || got != tt.want {
				t.Fatalf("idempotencyKey = %q, %v; want %q, error %v", got, err, tt.want, tt.bad)
			}
		})
	}
	t.Run("a bad key is answered 400 over HTTPS before the body is read", func(t *testing.T) {
		f := startFixture(t, nil)
		a, _ := postKeyed(t, f, strings.Repeat("k", 129), `{"a":1}`)
		if a.code != 400 || !strings.Contains(string(a.body), "invalid_idempotency_key") {
			t.Fatalf("got %d %s; want 400 invalid_idempotency_key", a.code, a.body)
		}
		if s, _ := f.srv.queueStats(); s.Batches != 0 {
			t.Fatalf("%d batches stored", s.Batches)
		}
	})
}

func FuzzIdempotencyKey(f *testing.F) {
	f.Add("order-42")
	f.Add("")
	f.Add("a\x00b")
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{HeaderIdempotencyKey: {v}}
		key, err := idempotencyKey(h)
		if err != nil {
			return
		}
		if key != v || len(key) < 1 || len(key) > 128 {
			t.Fatalf("accepted %q as %q", v, key)
		}
		for _, c := range []byte(key) {
			if c < 0x20 || c > 0x7e {
				t.Fatalf("accepted a key with byte 0x%02x", c)
			}
		}
	})
}
