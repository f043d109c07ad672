package main

import (
	"context"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/hardgate/hardgate/internal/gateway/auth"
	"github.com/hardgate/hardgate/internal/gateway/forward"
	"github.com/hardgate/hardgate/internal/poll"
	"github.com/hardgate/hardgate/internal/probe/mosquitto/mosquittotest"
)

// TestKillDuringLoadLosesNothingForwardedToMQTT is the SIGKILL test with an
// MQTT upstream (Debian's Mosquitto on a loopback port): ingestd is killed
// under concurrent load and restarted; every batch that got a 202 must
// reach the MQTT subscriber, with its content. Duplicates are counted.
func TestKillDuringLoadLosesNothingForwardedToMQTT(t *testing.T) {
	t.Parallel()
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

	acked := loadThenKill(t, c, client, token, 1, 300)

	c2 := startChild(t, bin, cfgPath)
	// Verify below names every batch that has not arrived by then.
	poll.Within(context.Background(), func() bool { return sink.Has(acked) })
	c2.stop(t, syscall.SIGTERM)
	dups := sink.Verify(t, acked)
	t.Logf("%d batches got a 202 before SIGKILL; after restart all reached the MQTT subscriber (%d duplicates)", len(acked), dups)
}
