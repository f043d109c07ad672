package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hardgate/hardgate/internal/result"
)

// maxSniffBytes caps what notAResult reads to tell what a file is.
const maxSniffBytes = 1 << 20

// notAResult explains a file that does not decode as an audit result: when
// it is another document hardgate (or a peer) writes, the error says what
// it is and which command takes it; otherwise it is decodeErr.
func notAResult(path string, decodeErr error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, decodeErr)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSniffBytes))
	if err != nil {
		return fmt.Errorf("%s: %w", path, decodeErr)
	}
	if what := identify(data); what != "" {
		return fmt.Errorf("%s is not an audit result: it is %s", path, what)
	}
	return fmt.Errorf("%s: %w", path, decodeErr)
}

// resultHint is where an audit result comes from.
const resultHint = "; an audit result is the JSON that hardgate audit --out RESULT.json writes"

// identify names the kind of document data holds, with the command that
// takes it; "" for an audit result or anything it does not recognise.
func identify(data []byte) string {
	text := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	head := strings.ToLower(string(text[:min(len(text), 2048)]))
	switch {
	case bytes.HasPrefix(data, []byte("SQLite format 3\x00")):
		return "a history database: hardgate history list --db FILE lists its audits, and hardgate history show AUDIT_ID --db FILE prints one as a result"
	case strings.HasPrefix(head, "<") && strings.Contains(head, "<testsuite"):
		return "a JUnit XML report (hardgate report --format junit renders one from a result)" + resultHint
	case strings.HasPrefix(head, "# hardgate delta") || strings.HasPrefix(head, "<") && strings.Contains(head, "<title>hardgate delta"):
		return "a rendered delta (hardgate diff --format md or html writes one); hardgate diff BEFORE.json AFTER.json compares two audit results"
	case strings.HasPrefix(head, "<!doctype html") || strings.HasPrefix(head, "<html"):
		return "an HTML report (hardgate report --format html renders one)" + resultHint
	case strings.HasPrefix(head, "# hardgate"):
		return "a Markdown report (hardgate report --format md renders one)" + resultHint
	case strings.HasPrefix(head, "id,control_id,"):
		return "a backlog CSV (hardgate report --format csv renders one)" + resultHint
	case len(text) > 0 && (text[0] == '{' || text[0] == '['):
		return identifyJSON(text)
	}
	return identifyYAML(text)
}

func identifyJSON(text []byte) string {
	var arr []map[string]json.RawMessage
	if json.Unmarshal(text, &arr) == nil {
		if len(arr) > 0 && has(arr[0], "id", "severity", "finding") {
			return testsslHint
		}
		return ""
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(text, &obj) != nil {
		return ""
	}
	switch {
	case has(obj, "scanResult") || has(obj, "Invocation", "openssl"):
		return testsslHint
	case has(obj, "runs") && strings.Contains(string(obj["$schema"])+string(obj["version"]), "2.1.0"):
		return "a SARIF report (hardgate report --format sarif renders one)" + resultHint
	case has(obj, "before", "after") && (has(obj, "regressed") || has(obj, "changes")):
		return "a delta of two results (hardgate diff --format json writes one): hardgate diff BEFORE.json AFTER.json compares the two results themselves (--format html to render)"
	case result.IsFleetDocument(text) || has(obj, "targets") && !has(obj, "controls"):
		return "a fleet summary (hardgate audit --fleet writes fleet.json): hardgate diff OLD/fleet.json NEW/fleet.json compares two; each target's result is in results/NAME.json beside it"
	}
	return ""
}

const testsslHint = "testssl.sh's JSON output; hardgate reads its own results only, and scans TLS itself: hardgate audit --url https://HOST:PORT/... (docs/tls.md compares the two)"

func identifyYAML(text []byte) string {
	var top map[string]yaml.Node
	if yaml.Unmarshal(text, &top) != nil || len(top) == 0 {
		return ""
	}
	switch {
	case hasKey(top, "targets"):
		return "a fleet file: hardgate audit --fleet FILE --out-dir DIR audits its targets"
	case hasKey(top, "ingest") || hasKey(top, "mqtt") || hasKey(top, "gateway"):
		return "a target spec: hardgate audit --target FILE --out RESULT.json audits it and writes the result"
	case hasKey(top, "listen") || hasKey(top, "auth") || hasKey(top, "guardrails"):
		return "an ingestd config: hardgate audit --gateway-config FILE audits it (ingestd check-config --config FILE checks it)"
	}
	return ""
}

func has(obj map[string]json.RawMessage, keys ...string) bool {
	for _, k := range keys {
		if _, ok := obj[k]; !ok {
			return false
		}
	}
	return true
}

func hasKey(top map[string]yaml.Node, k string) bool { _, ok := top[k]; return ok }
