package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/result"
)

var update = flag.Bool("update", false, "rewrite the worked-example fixtures in internal/report/reporttest/testdata")

// fixtureDir holds the normalised results that the renderer and delta golden
// files are rendered from (reporttest embeds them).
const fixtureDir = "../report/reporttest/testdata"

// Fixed values the normalised results carry in place of what varies from run
// to run.
const (
	fixedWorkDir    = "/etc/ingestd"
	fixedBeforeAddr = "127.0.0.1:8080" // plaintext, as in examples/gateway-hardening/before
	fixedAfterAddr  = "127.0.0.1:8443" // TLS, as in examples/gateway-hardening/after
)

const regenerate = "if the change is intended, regenerate the fixtures and then the golden files rendered from them:\n" +
	"  go test ./internal/demo -run TestWorkedExampleFixtures -update\n" +
	"  go test ./internal/report/ ./internal/delta/ -update"

// fixtureClock is the demo's injected clock and id source: the before audit
// starts at 2026-01-15 09:00 UTC, the after audit three days later; each
// reading of the clock within an audit is one second after the last.
type fixtureClock struct {
	mu     sync.Mutex
	audits int
	reads  int
}

var fixtureStart = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

func (c *fixtureClock) NewID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.audits++
	c.reads = 0
	return fmt.Sprintf("hg-%016x", c.audits)
}

func (c *fixtureClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := fixtureStart.Add(time.Duration(c.audits-1)*72*time.Hour + time.Duration(c.reads)*time.Second)
	c.reads++
	return t
}

// TestWorkedExampleFixtures runs the demo with a fixed clock and fixed ids,
// normalises what still varies (ports, paths, certificates, server-made ids)
// and compares the results with the fixtures the report and delta golden
// files are rendered from; -update rewrites them.
func TestWorkedExampleFixtures(t *testing.T) {
	work := t.TempDir()
	clock := &fixtureClock{}
	var story bytes.Buffer
	out, err := Run(context.Background(), Options{Dir: t.TempDir(), WorkDir: work, Out: &story,
		ToolVersion: "0.1.0-test", Now: clock.Now, NewID: clock.NewID})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, story.String())
	}
	want, err := WorkedExample()
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Check(want); err != nil {
		t.Fatalf("%v\n%s", err, story.String())
	}
	for _, tc := range []struct {
		name  string
		res   *result.Result
		fixed string
	}{
		{"before", out.Before, fixedBeforeAddr},
		{"after", out.After, fixedAfterAddr},
	} {
		t.Run("the "+tc.name+" result matches its fixture", func(t *testing.T) {
			got := normalise(t, tc.res, work, tc.fixed)
			path := filepath.Join(fixtureDir, "worked-example-"+tc.name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read fixture: %v\n%s", err, regenerate)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("the demo's %s result (normalised) differs from %s:\n%s\n%s", tc.name, path, firstDifference(want, got), regenerate)
			}
		})
	}
}

// normalise returns res as result JSON with everything that varies between
// runs replaced by a fixed value:
//   - the work directory by /etc/ingestd (the config file in it by
//     /etc/ingestd/ingestd.yaml), the gateway's ephemeral loopback address
//     by fixed (8080 before, 8443 after);
//   - each config file's sha256 by the sha256 of that file with the same
//     replacements, so it is the digest of the config the fixture shows;
//   - the certificate times, shifted so the certificate reads as issued when
//     the audit started (NotBefore an hour earlier, as pki backdates it), and
//     certificate fingerprints by placeholders;
//   - ids the gateway makes (batch ULIDs, request ids) by placeholders.
//
// It fails the test when an ephemeral address or the work directory is
// still in the output, so a new source of variation is caught here rather
// than as a flaky golden file.
func normalise(t *testing.T, res *result.Result, work, fixed string) []byte {
	t.Helper()
	u, err := url.Parse(res.Target.IngestURLs[0])
	if err != nil {
		t.Fatal(err)
	}
	addr := u.Host
	// The demo writes the config as work/<before|after>/ingestd.yaml; on a
	// gateway it is /etc/ingestd/ingestd.yaml, as the catalog's remediation
	// text says, so each result shows it there.
	stateDir := filepath.Dir(res.Target.ConfigFiles[0].Path) + string(filepath.Separator)
	replace := func(s string) string {
		s = strings.ReplaceAll(s, stateDir, fixedWorkDir+"/")
		s = strings.ReplaceAll(s, work, fixedWorkDir)
		return regexp.MustCompile(regexp.QuoteMeta(addr)+`\b`).ReplaceAllString(s, fixed)
	}
	for i, f := range res.Target.ConfigFiles {
		data, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatalf("read the audited config: %v", err)
		}
		sum := sha256.Sum256([]byte(replace(string(data))))
		res.Target.ConfigFiles[i].SHA256 = hex.EncodeToString(sum[:])
	}

	var buf bytes.Buffer
	if err := result.Encode(&buf, res); err != nil {
		t.Fatal(err)
	}
	doc := replace(buf.String())

	// Certificates: the same times and fingerprints appear in every TLS
	// control's evidence and in reasons, so map each distinct value once.
	var pairs []string
	seen := map[string]bool{}
	var shift time.Duration
	shifted, certs := false, 0
	for _, c := range res.Controls {
		for _, e := range c.Evidence {
			if e.TLS == nil {
				continue
			}
			for i, cert := range e.TLS.Certificates {
				if !shifted && i == 0 {
					shift, shifted = res.StartedAt.Add(-time.Hour).Sub(cert.NotBefore), true
				}
				for _, ts := range []time.Time{cert.NotBefore, cert.NotAfter} {
					if s := ts.UTC().Format(time.RFC3339); !seen[s] {
						seen[s] = true
						pairs = append(pairs, s, ts.Add(shift).UTC().Format(time.RFC3339))
					}
				}
				if !seen[cert.SHA256] {
					seen[cert.SHA256] = true
					certs++
					pairs = append(pairs, cert.SHA256, fmt.Sprintf("%064x", certs))
				}
			}
		}
	}
	doc = strings.NewReplacer(pairs...).Replace(doc)

	// Ids the gateway generates: a ULID per stored batch, a random prefix
	// and a process-wide counter per request. Numbered by first appearance.
	doc = renumber(doc, regexp.MustCompile(`batch_id\\":\\"([0-9A-Z]{26})\\"`), func(n int) string {
		return fmt.Sprintf("01KF0E44M0%016d", n) // the time part is 2026-01-15 09:00 UTC
	})
	doc = renumber(doc, regexp.MustCompile(`request_id\\":\\"([0-9a-f]+-[0-9a-z]+)\\"`), func(n int) string {
		return fmt.Sprintf("000000000000-%d", n)
	})

	if strings.Contains(doc, work) {
		t.Errorf("the work directory %s is still in the normalised result", work)
	}
	// The catalog's remediation text names both fixed addresses itself.
	for _, m := range regexp.MustCompile(`127\.0\.0\.1:\d+`).FindAllString(doc, -1) {
		if m != fixedBeforeAddr && m != fixedAfterAddr {
			t.Errorf("the normalised result still has the address %s", m)
			break
		}
	}
	// Round-trip through the strict decoder: the fixture must be a result
	// that hardgate report and hardgate diff accept.
	back, err := result.Decode(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("the normalised result does not decode: %v", err)
	}
	buf.Reset()
	if err := result.Encode(&buf, back); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// renumber replaces each distinct first submatch of re in s by name(n),
// n counting distinct values from 1 in order of first appearance.
func renumber(s string, re *regexp.Regexp, name func(n int) string) string {
	ids := map[string]string{}
	var pairs []string
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		if _, ok := ids[m[1]]; !ok {
			ids[m[1]] = name(len(ids) + 1)
			pairs = append(pairs, m[1], ids[m[1]])
		}
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// firstDifference shows the first line where got departs from want.
func firstDifference(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  fixture: %s\n  demo:    %s", i+1, wl, gl)
		}
	}
	return "(same lines, different bytes)"
}
