package report_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"testing"

	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
)

func encoded(t testing.TB, res *result.Result) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := result.Encode(&buf, res); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withTCPAndMQTTEvidence is the real before result with the two evidence
// kinds the worked example does not produce (tcp and mqtt) added to its
// plaintext-transport control and finding, so that the fuzzer starts from
// every kind of evidence a result can hold.
func withTCPAndMQTTEvidence() *result.Result {
	res := reporttest.WorkedExampleBefore()
	extra := []result.Evidence{
		{Kind: "tcp", Summary: "plaintext port open", TCP: &result.TCPDial{Address: "127.0.0.1:8080", Connected: true}},
		{Kind: "mqtt", Summary: "anonymous CONNECT to tcp://127.0.0.1:1883 → 0", MQTT: &result.MQTTExchange{Broker: "tcp://127.0.0.1:1883", Action: "connect", ReasonCode: 0, Outcome: "accepted"}},
	}
	c := reporttest.Control(res, reporttest.InsecureTransport)
	c.Evidence = append(c.Evidence, extra...)
	fd := reporttest.Finding(res, reporttest.InsecureTransport)
	fd.Evidence = append(fd.Evidence, extra...)
	return res
}

// FuzzDecode feeds arbitrary bytes to Decode, the parser of result files a
// user hands to hardgate report and hardgate diff. A document it accepts must
// re-encode to a document it accepts again, and every renderer must handle it.
func FuzzDecode(f *testing.F) {
	for _, res := range []*result.Result{reporttest.WorkedExampleBefore(), reporttest.WorkedExampleAfter(), withTCPAndMQTTEvidence(),
		reporttest.WorkedExampleBeforeWaived(reporttest.WaiverDay), reporttest.WorkedExampleBeforeWaived(reporttest.WaiverExpiredDay)} {
		b := encoded(f, res)
		if _, err := result.Decode(bytes.NewReader(b)); err != nil {
			f.Fatalf("seed %s does not decode: %v", res.AuditID, err)
		}
		f.Add(b)
		f.Add(b[:len(b)/3])
	}
	f.Add([]byte(`{"schema_version":"1.0","summary":{"status":"PASS"}}`))
	f.Add([]byte(`{"schema_version":"1.7","summary":{"status":"INCONCLUSIVE"},"controls":[{"id":"a.b","status":"error","evidence":[{"kind":"http","http":{"method":"GET","url":"http://127.0.0.1/","request_headers":{"Cookie":"x"}}}]}]}`))
	f.Add([]byte(`{"schema_version":"9"}`))
	f.Add([]byte(`{"schema_version":"1.1","summary":{"status":"PASS"},"controls":[{"id":"a.b","status":"waived"}],"waived":[{"id":"a.b"}],"waivers":{"expired":[{}],"stale":null}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := result.Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		again, err := result.Decode(bytes.NewReader(encoded(t, res)))
		if err != nil {
			t.Fatalf("re-encoded result does not decode: %v", err)
		}
		for _, format := range report.Formats() {
			var out bytes.Buffer
			if err := report.Render(&out, again, format, report.RenderOptions{}); err != nil {
				t.Fatalf("render %s: %v", format, err)
			}
			switch format {
			case "junit":
				if err := xml.Unmarshal(out.Bytes(), new(struct{})); err != nil {
					t.Fatalf("junit output is not well-formed XML: %v", err)
				}
			case "sarif":
				if !json.Valid(out.Bytes()) {
					t.Fatal("sarif output is not JSON")
				}
			}
		}
	})
}
