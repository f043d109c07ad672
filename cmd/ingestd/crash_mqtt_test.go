package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/auth"
	"github.com/hardgate/hardgate/internal/gateway/forward"
	"github.com/hardgate/hardgate/internal/probe/mosquitto/mosquittotest"
)

// TestKillDuringLoadLosesNothingForwardedToMQTT is the SIGKILL test with an
// MQTT upstream (Debian's Mosquitto on a loopback port): ingestd is killed
// under concurrent load and restarted; every batch that got a 202 must
// reach the MQTT subscriber, with its content. Duplicates are counted.
func TestKillDuringLoadLosesNothingForwardedToMQTT(t *testing.T) {
	bin := buildIngestd(t)
	b := mosquittotest.New(t, func(port int, dir string) string {
		return "listener " + strconv.Itoa(port) + " 127.0.0.1\nallow_anonymous true\n" +
			"persistence true\npersistence_location " + dir + "/\nmax_queued_messages 0\n"
	})
	b.Start()
	sink := mosquittotest.Subscribe(t, mosquittotest.SinkOptions{Addr: b.Addr(), Filter: "telemetry/#", IDProperty: forward.MQTTPropBatchID})

	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "limits:\n  rate_per_device: 0\n"+
		"forward:\n  kind: mqtt\n  backoff_min: 20ms\n  backoff_max: 500ms\n"+
		"  mqtt:\n    url: "+b.URL(false)+"\n    topic: telemetry/{device}\n    client_id: ingestd-crash\n"+
		"log:\n  format: json\n")
	token, err := auth.AddToken(filepath.Join(dir, "tokens"), "sensor-1")
	if err != nil {
		t.Fatal(err)
	}
	client := clientFor(t, filepath.Join(dir, "ca.pem"))
	c := startChild(t, bin, cfgPath)

	var mu sync.Mutex
	acked := map[string]string{}
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for w := range 8 {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				body := fmt.Sprintf(`{"worker":%d,"n":%d,"temperature_c":%d.5}`, w, n, n%40) + "\n"
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+c.addr+"/v1/ingest", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if err != nil {
					continue // killed or refused: not acknowledged
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					continue
				}
				var r struct {
					BatchID string `json:"batch_id"`
				}
				if json.Unmarshal(data, &r) != nil || r.BatchID == "" {
					t.Errorf("bad receipt %s", data)
					continue
				}
				mu.Lock()
				acked[r.BatchID] = body
				mu.Unlock()
			}
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 300 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.stop(t, syscall.SIGKILL)
	cancel()
	wg.Wait()
	if len(acked) < 20 {
		t.Fatalf("only %d batches acknowledged before the kill:\n%s", len(acked), c.log())
	}

	c2 := startChild(t, bin, cfgPath)
	deadline = time.Now().Add(60 * time.Second)
	for !sink.Has(acked) {
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	c2.stop(t, syscall.SIGTERM)
	dups := sink.Verify(t, acked)
	t.Logf("%d batches got a 202 before SIGKILL; after restart all reached the MQTT subscriber (%d duplicates)", len(acked), dups)
}
