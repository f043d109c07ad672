package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hardgate/hardgate/internal/delta"
	"github.com/hardgate/hardgate/internal/interop"
	"github.com/hardgate/hardgate/internal/probe/mosquitto/mosquittotest"
	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

// hostileGateway answers every request on a raw loopback socket with a
// redirect whose Location carries a right-to-left override, isolates and a
// C1 CSI (what a header may hold: Go's client refuses C0 there), a Server
// header with a lone 0x9b byte, and a body with an OSC 8 hyperlink, an OSC
// title, a screen clear and an override.
func hostileGateway(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	body := "rejected \x1b]8;;https://evil.example\x1b\\details\x1b]8;;\x1b\\ \x1b]0;owned\x07\x1b[2J \u202egnp.exe\u2069 \u009b31m"
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				_ = req.Body.Close()
				fmt.Fprintf(c, "HTTP/1.1 302 Found\r\nLocation: https://127.0.0.1/\u202eyenom-dnes\u2066/\u009b31m\r\nServer: gw\x9b1m\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
			}()
		}
	}()
	return ln.Addr().String()
}

// renderAll renders res in every report format and its delta with itself
// in every delta format.
func renderAll(t *testing.T, res *result.Result) map[string][]byte {
	t.Helper()
	outputs := map[string][]byte{}
	for _, format := range report.Formats() {
		var buf bytes.Buffer
		if err := report.Render(&buf, res, format, report.RenderOptions{}); err != nil {
			t.Fatal(err)
		}
		outputs["report "+format] = buf.Bytes()
	}
	d, err := delta.Compare(res, res, delta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range delta.Formats() {
		var buf bytes.Buffer
		if err := delta.Render(&buf, d, format, delta.RenderOptions{}); err != nil {
			t.Fatal(err)
		}
		outputs["delta "+format] = buf.Bytes()
	}
	return outputs
}

// wantNothingRaw fails for any output holding a control character a
// terminal obeys (C0, C1, a byte that is not UTF-8) or a bidi override.
func wantNothingRaw(t *testing.T, outputs map[string][]byte) {
	t.Helper()
	for name, out := range outputs {
		if !utf8.Valid(out) {
			t.Errorf("%s: not UTF-8 (a raw 0x9b byte is CSI to an 8-bit terminal)", name)
			continue
		}
		for i, r := range string(out) {
			if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || (r >= 0x80 && r <= 0x9f) ||
				(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
				t.Errorf("%s: %U raw at %d: %q", name, r, i, out[max(0, i-30):min(len(out), i+30)])
				break
			}
		}
	}
}

// TestHostileTextFromATargetIsEscapedInEveryReport audits the hostile
// gateway and renders the result in every format, and the delta: no
// output may carry what a terminal obeys or a bidi override from the target.
func TestHostileTextFromATargetIsEscapedInEveryReport(t *testing.T) {
	addr := hostileGateway(t)
	res := mustRun(t, &spec.Target{Name: "hostile", Ingest: spec.Ingest{URLs: []string{"http://" + addr + "/v1/ingest"}}})
	c := control(t, res, "ingest_auth.insecure_transport")
	if len(c.Evidence) == 0 || c.Evidence[0].HTTP == nil || !strings.Contains(c.Evidence[0].HTTP.ResponseHeaders["Location"], "\u202e") ||
		!strings.Contains(c.Evidence[0].HTTP.BodyExcerpt, "\x1b]8;;") {
		t.Fatalf("the hostile headers and body did not reach the result (%+v): the test proves nothing", c.Evidence)
	}
	outputs := renderAll(t, res)
	wantNothingRaw(t, outputs)
	if md := string(outputs["report md"]); !strings.Contains(md, `\x1b]8;;https://evil.example`) || !strings.Contains(md, `\u202eyenom-dnes\u2066`) {
		t.Errorf("the md report does not show the body's hyperlink and the Location's override as escapes")
	}
}

// TestAHostileTopicNameIsEscapedInEveryReport: Debian's Mosquitto lets a
// client publish on a topic holding a right-to-left override; the audit's
// "#" subscription receives it and the reports name the topic.
func TestAHostileTopicNameIsEscapedInEveryReport(t *testing.T) {
	b := mosquittotest.New(t, func(port int, dir string) string {
		return "listener " + strconv.Itoa(port) + " 127.0.0.1\nallow_anonymous true\n"
	})
	b.Start()
	const topic = "telemetry/\u202eevil\u2066/temp"
	pub := interop.Binary(t, "mosquitto_pub", "mosquitto-clients")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			_ = exec.CommandContext(ctx, pub, "-h", "127.0.0.1", "-p", strconv.Itoa(b.Port), "-t", topic, "-m", "21.5").Run()
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	res := mustRun(t, mqttTarget(b, b.URL(false), false))
	cancel()
	<-done
	var doc bytes.Buffer
	if err := json.NewEncoder(&doc).Encode(res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(doc.String(), "\u202eevil") {
		t.Fatalf("the hostile topic did not reach the result: the test proves nothing\n%s", control(t, res, wildcardID).Reason)
	}
	wantNothingRaw(t, renderAll(t, res))
}
