package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/forward"
	"github.com/hardgate/hardgate/internal/gateway/relay"
	"github.com/hardgate/hardgate/internal/poll"
)

// TestUpstreamOutageLosesNothing accepts batches while the HTTP upstream is
// down (its connections cut by a shut relay), then opens the relay and
// checks that every accepted batch arrives with its content.
func TestUpstreamOutageLosesNothing(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	got := map[string]string{}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	defer upstream.Close()
	down := relay.New(t) // shut: the upstream is down

	f := startFixture(t, func(c *config.Config) {
		c.Limits.RatePerDevice = 0
		c.Forward.Kind = "http"
		c.Forward.HTTP.URL = "http://" + down.Addr() + "/telemetry"
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
	poll.Until(t, "a failed delivery", func() bool {
		return strings.Contains(string(f.do(t, "GET", PathMetrics, nil, nil).body), `ingestd_forward_total{result="error",upstream="http"}`)
	})

	down.Open(upstream.Listener.Addr().String())
	poll.Until(t, "every batch delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= len(accepted)
	})
	mu.Lock()
	for id, body := range accepted {
		if got[id] != body {
			t.Errorf("batch %s: upstream got %q, want %q", id, got[id], body)
		}
	}
	mu.Unlock()
	poll.Until(t, "an empty queue", func() bool {
		s, _ := f.srv.queueStats()
		return s.Batches == 0
	})
}
