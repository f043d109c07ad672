package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/forward"
)

// TestUpstreamOutageLosesNothing accepts batches while the HTTP upstream is
// down (connection refused), then brings the upstream up on the same port and
// checks that every accepted batch arrives with its content.
func TestUpstreamOutageLosesNothing(t *testing.T) {
	// Reserve a loopback port, then free it: the upstream is down.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	upstreamAddr := ln.Addr().String()
	ln.Close()

	f := startFixture(t, func(c *config.Config) {
		c.Limits.RatePerDevice = 0
		c.Forward.Kind = "http"
		c.Forward.HTTP.URL = "http://" + upstreamAddr + "/telemetry"
		c.Forward.BackoffMin = config.Duration(20 * time.Millisecond)
		c.Forward.BackoffMax = config.Duration(200 * time.Millisecond)
	})
	accepted := map[string]string{}
	for i := range 30 {
		body := fmt.Sprintf(`{"n":%d,"during":"outage"}`, i)
		a := f.ingest(t, body)
		if a.code != 202 {
			t.Fatalf("ingest during outage: %d %s", a.code, a.body)
		}
		var r Receipt
		if err := json.Unmarshal(a.body, &r); err != nil {
			t.Fatal(err)
		}
		accepted[r.BatchID] = body + "\n"
	}
	// Wait until the dispatcher has failed at least once.
	waitFor(t, 10*time.Second, "a failed delivery", func() bool {
		return strings.Contains(string(f.do(t, "GET", PathMetrics, nil, nil).body), `ingestd_forward_total{result="error",upstream="http"}`)
	})

	var mu sync.Mutex
	got := map[string]string{}
	upstream := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		got[r.Header.Get(forward.HeaderIdempotencyKey)] = string(data)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	var lerr error
	deadline := time.Now().Add(5 * time.Second)
	for {
		upstream.Listener, lerr = net.Listen("tcp", upstreamAddr)
		if lerr == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if lerr != nil {
		t.Fatalf("cannot bring the upstream up on %s: %v", upstreamAddr, lerr)
	}
	upstream.Start()
	defer upstream.Close()

	waitFor(t, 15*time.Second, "every batch delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= len(accepted)
	})
	mu.Lock()
	defer mu.Unlock()
	for id, body := range accepted {
		if got[id] != body {
			t.Errorf("batch %s: upstream got %q, want %q", id, got[id], body)
		}
	}
	waitFor(t, 5*time.Second, "an empty queue", func() bool {
		s, _ := f.srv.queueStats()
		return s.Batches == 0
	})
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
