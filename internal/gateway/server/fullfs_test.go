package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/forward"
	"github.com/hardgate/hardgate/internal/gateway/relay"
	"github.com/hardgate/hardgate/internal/gateway/tmpfs"
	"github.com/hardgate/hardgate/internal/poll"
)

// TestFullFilesystem runs ingestd (HTTPS, bearer token) with its store on
// a real 4 MiB tmpfs and fills that filesystem: ingest answers 507 with
// Retry-After, /readyz 503, and the batches delivered while acks cannot be
// committed are not sent again (the dispatcher backs off, counts and logs
// the failures). Once there is room, everything resumes and every batch
// that got a 202 reached the upstream exactly once.
func TestFullFilesystem(t *testing.T) {
	t.Parallel()
	store := tmpfs.Mount(t, 4<<20)
	var mu sync.Mutex
	posts := map[string][]string{}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		mu.Lock()
		id := r.Header.Get(forward.HeaderIdempotencyKey)
		posts[id] = append(posts[id], string(data))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer upstream.Close()
	up := relay.New(t) // shut until the disk is full
	f := startFixture(t, func(c *config.Config) {
		c.Store.Dir = filepath.Join(store, "queue")
		c.Limits.RatePerDevice = 0
		c.Forward.Kind = "http"
		c.Forward.HTTP.URL = "http://" + up.Addr() + "/telemetry"
		c.Forward.BackoffMin = config.Duration(20 * time.Millisecond)
		c.Forward.BackoffMax = config.Duration(200 * time.Millisecond)
	})
	accepted := map[string]string{}
	post := func(i int) answer {
		body := fmt.Sprintf(`{"n":%d}`, i)
		a := f.ingest(t, body)
		if a.code == 202 {
			var r Receipt
			if err := json.Unmarshal(a.body, &r); err != nil {
				t.Fatal(err)
			}
			accepted[r.BatchID] = body + "\n"
		}
		return a
	}
	for i := range 20 {
		if a := post(i); a.code != 202 {
			t.Fatalf("ingest %d: %d %s", i, a.code, a.body)
		}
	}
	free := tmpfs.Fill(t, store)

	if a := post(100); a.code != 507 || a.header.Get("Retry-After") == "" || !strings.Contains(string(a.body), `"store_full"`) {
		t.Fatalf("ingest on a full filesystem: %d Retry-After %q %s; want 507 with Retry-After", a.code, a.header.Get("Retry-After"), a.body)
	}
	if a := f.do(t, http.MethodGet, PathReady, nil, nil); a.code != 503 || !strings.Contains(string(a.body), "store filesystem full") {
		t.Fatalf("readyz on a full filesystem: %d %s; want 503", a.code, a.body)
	}

	up.Open(upstream.Listener.Addr().String())
	metric := func(name string) float64 { return gaugeValue(t, f, name) }
	poll.Until(t, "three failed acks", func() bool { return metric("ingestd_forward_ack_failures_total") >= 3 })
	// Deliveries pause while acks fail: some batches have gone out, none twice.
	mu.Lock()
	for id, p := range posts {
		if len(p) > 1 {
			t.Errorf("batch %s sent %d times while acks failed", id, len(p))
		}
	}
	t.Logf("%d of 20 batches delivered before deliveries paused", len(posts))
	mu.Unlock()
	if !strings.Contains(f.logs.String(), "deleting delivered batches from the queue failed") {
		t.Errorf("no log line for the failed acks:\n%s", f.logs.String())
	}

	free()
	poll.Until(t, "the queue to drain", func() bool { return metric("ingestd_queue_batches") == 0 })
	poll.Until(t, "readyz to answer 200", func() bool { return f.do(t, http.MethodGet, PathReady, nil, nil).code == 200 }, poll.Interval(200*time.Millisecond))
	if a := post(200); a.code != 202 {
		t.Fatalf("ingest after space was freed: %d %s", a.code, a.body)
	}
	poll.Until(t, "the last batch upstream", func() bool { mu.Lock(); defer mu.Unlock(); return len(posts) == len(accepted) })
	mu.Lock()
	defer mu.Unlock()
	for id, body := range accepted {
		if got := posts[id]; len(got) != 1 || got[0] != body {
			t.Errorf("batch %s: upstream got %q, want %q once", id, got, body)
		}
	}
}

// gaugeValue reads one unlabelled series, or the sum of a metric's series,
// from the fixture's registry.
func gaugeValue(t *testing.T, f *fixture, name string) float64 {
	t.Helper()
	families, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}
