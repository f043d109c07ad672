package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hardgate/hardgate/internal/audit"
	"github.com/hardgate/hardgate/internal/outfile"
	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

const auditUsage = `Usage: hardgate audit (--target FILE | --url URL ... | --gateway-config FILE) [flags]
       hardgate audit --fleet FILE --out-dir DIR [--parallel N] [--label key=value ...]

Probes a gateway's ingest path (HTTP/HTTPS), reads its config, judges every
control of the catalog and writes the result. Probe requests carry the header
X-Hardgate-Probe and the JSON field "_hardgate_probe" so the gateway owner can
filter them. The valid token, and its near misses (secret changed, truncated,
a JWT with alg none or a broken signature), are never sent over plaintext or
unverified TLS, and every piece of it is redacted from all evidence.

Examples:
  # a target spec (YAML; see examples/targets/)
  hardgate audit --target examples/targets/after.yaml --out after.json

  # one endpoint with quick flags
  export HARDGATE_TOKEN=...   # a valid device token, for the positive control
  hardgate audit --url https://127.0.0.1:8443/v1/ingest --ca ca.pem \
      --token-env HARDGATE_TOKEN --gateway-config /etc/ingestd/ingestd.yaml \
      --gateway-kind ingestd --out after.json --format md

  # an MQTT broker and its mosquitto.conf (anonymous access, "#", $SYS, plaintext)
  hardgate audit --mqtt-url mqtts://127.0.0.1:8883 --ca ca.pem --mqtt-plaintext-port 1883 \
      --gateway-config /etc/mosquitto/mosquitto.conf --gateway-kind mosquitto

  # gate a release on a reference baseline (exit 1 on any regression)
  hardgate audit --target after.yaml --baseline baseline.json

  # a fleet: every gateway of a fleet file, one summary (see --fleet --help)
  hardgate audit --fleet fleet.yaml --out-dir audits/2026-05-01 --parallel 32

  # accept known risks until their expiry (docs/waivers.md)
  hardgate audit --target before.yaml --waivers waivers.yaml --out before.json

  # judge the gateway config with the customer's own controls too
  hardgate audit --gateway-config /etc/ingestd/ingestd.yaml --controls-dir site-controls/

Exit codes: 0 PASS, 1 findings at or above --fail-on, 2 usage or config error
(a waivers file that does not validate included), 3 INCONCLUSIVE (a control
could not decide). A waived finding counts toward no exit code. With --baseline the comparison
decides instead: 0 no regression, 1 any regression (a control that passed in
the baseline and now fails or cannot decide), 2 results that cannot be compared.
The delta is printed after the text summary, or on stderr when --format names
a machine format, so that stdout stays one valid SARIF, JSON, XML or CSV
document.

Flags:
`

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type auditFlags struct {
	target, ca, tokenEnv, healthURL, gwConfig, gwKind, name string
	urls                                                    stringList
	mqttURLs                                                stringList
	timeout, deadline                                       time.Duration
	mqttPlainPort                                           int
	out, format, failOn, baseline, color                    string
	verbose, allowDifferent                                 bool
	judgeFlags
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if hasFleetFlag(args) {
		return runFleetAudit(ctx, args, stdout, stderr)
	}
	var f auditFlags
	fs := f.flagSet(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hardgate audit: unexpected argument %q (flags only)\n", fs.Arg(0))
		return exitUsage
	}
	if !slices.Contains(result.Severities, f.failOn) {
		fmt.Fprintf(stderr, "hardgate audit: --fail-on %q: must be one of %s\n", f.failOn, strings.Join(result.Severities, ", "))
		return exitUsage
	}
	if !slices.Contains(report.Formats(), f.format) {
		fmt.Fprintf(stderr, "hardgate audit: --format %q: must be one of %s\n", f.format, strings.Join(report.Formats(), ", "))
		return exitUsage
	}
	color, err := reportColor(f.color, isTerminal(stdout))
	if err != nil {
		fmt.Fprintf(stderr, "hardgate audit: %v\n", err)
		return exitUsage
	}
	plan, err := f.buildTarget()
	if err != nil {
		fmt.Fprintf(stderr, "hardgate audit: %v\n", err)
		return exitUsage
	}
	cat, waivers, err := f.catalogAndWaivers(time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "hardgate audit: %v\n", err)
		return exitUsage
	}
	var base *result.Result
	if f.baseline != "" {
		if base, err = readResult(f.baseline); err != nil {
			fmt.Fprintf(stderr, "hardgate audit: --baseline: %v\n", err)
			return exitUsage
		}
	}
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	res, err := plan.Run(ctx, audit.Options{Catalog: cat, ToolVersion: toolVersion(), Logger: logger})
	if err != nil {
		fmt.Fprintf(stderr, "hardgate audit: %v\n", err)
		return exitUsage
	}
	applyWaivers(res, waivers, time.Now())
	return f.emit(res, base, color, stdout, stderr)
}

// flagSet declares the audit flags into f.
func (f *auditFlags) flagSet(stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hardgate audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, auditUsage); fs.PrintDefaults() }
	fs.StringVar(&f.target, "target", "", "target spec `FILE` (YAML)")
	fs.Var(&f.urls, "url", "ingest `URL` (repeatable), e.g. https://127.0.0.1:8443/v1/ingest")
	fs.Var(&f.mqttURLs, "mqtt-url", "MQTT broker `URL` to probe (repeatable), e.g. mqtts://127.0.0.1:8883; --ca verifies mqtts")
	fs.IntVar(&f.mqttPlainPort, "mqtt-plaintext-port", 0, "with an mqtts:// --mqtt-url: also try a plaintext CONNECT on this `PORT` of the broker's host (usually 1883)")
	fs.StringVar(&f.healthURL, "health-url", "", "health `URL` (default: /healthz on the first ingest URL's origin)")
	fs.StringVar(&f.ca, "ca", "", "trust anchor `FILE` (PEM) to verify TLS with (default: system roots)")
	fs.StringVar(&f.tokenEnv, "token-env", "", "environment `VAR` holding a valid device token (positive control)")
	fs.StringVar(&f.gwConfig, "gateway-config", "", "gateway config `FILE` to read")
	fs.StringVar(&f.gwKind, "gateway-kind", "", "gateway config kind: "+strings.Join(spec.GatewayKinds, ", ")+" (default ingestd)")
	fs.StringVar(&f.name, "name", "", "target name for reports and deltas (default: the first URL's host, without the port)")
	fs.DurationVar(&f.timeout, "timeout", 0, "deadline per probe request (default 5s)")
	fs.DurationVar(&f.deadline, "deadline", 0, "deadline for the whole audit (default 60s)")
	fs.StringVar(&f.out, "out", "", "write the result JSON to `FILE`")
	fs.StringVar(&f.format, "format", "text", "what to print on stdout: "+strings.Join(report.Formats(), ", "))
	fs.StringVar(&f.failOn, "fail-on", "low", "exit 1 when a finding has this `severity` or higher: "+strings.Join(result.Severities, ", "))
	fs.StringVar(&f.baseline, "baseline", "", "compare with this reference result `FILE` and exit 1 on any regression")
	fs.BoolVar(&f.allowDifferent, "allow-different-targets", false, "with --baseline: compare even when the baseline audited another target")
	fs.StringVar(&f.color, "color", "auto", "colour the text summary: auto (only on a terminal), always, never")
	fs.BoolVar(&f.verbose, "v", false, "log every probe and verdict to stderr")
	fs.StringVar(&f.controlsDir, "controls-dir", "", controlsDirUsage)
	fs.StringVar(&f.waivers, "waivers", "", "accept known risks listed in this waivers `FILE` (YAML, see docs/waivers.md): a matched finding is waived, not counted")
	fs.IntVar(&f.waiverMaxDays, "waiver-max-days", 365, "with --waivers: refuse an expiry date more than this many `days` ahead")
	return fs
}

// emit writes the result file, prints the result, and returns the exit
// code: the baseline gate's when a baseline is given, else the findings'.
func (f *auditFlags) emit(res, base *result.Result, color bool, stdout, stderr io.Writer) int {
	if f.out != "" {
		if err := writeResultFile(f.out, res); err != nil {
			fmt.Fprintf(stderr, "hardgate audit: %v\n", err)
			return exitUsage
		}
	}
	if err := report.Render(stdout, res, f.format, renderOptions(color)); err != nil {
		fmt.Fprintf(stderr, "hardgate audit: %v\n", err)
		return exitUsage
	}
	if f.out != "" && f.format == "text" {
		fmt.Fprintf(stdout, "Result written to %s\n", f.out)
	}
	if base != nil {
		// With a baseline, the gate decides: findings the baseline already
		// had are accepted; a regression (including pass → error) fails.
		// The delta follows the text summary on stdout; after a machine
		// format (SARIF, JSON, ...) it goes to stderr so stdout stays valid.
		w := stdout
		if f.format != "text" {
			w = stderr
		}
		return baselineGate(w, stderr, base, res, f.allowDifferent)
	}
	return auditExitCode(res, f.failOn)
}

// buildTarget reads the target spec (--target) or builds it from the quick
// flags, applies --timeout and --deadline, and prepares it: validated, with
// its token and CA files resolved. Field errors of a quick-flag target name
// the flag.
func (f *auditFlags) buildTarget() (*audit.Plan, error) {
	quick := len(f.urls) > 0 || len(f.mqttURLs) > 0 || f.mqttPlainPort != 0 || f.ca != "" || f.tokenEnv != "" || f.healthURL != "" || f.gwConfig != "" || f.gwKind != "" || f.name != ""
	var t *spec.Target
	switch {
	case f.target != "" && quick:
		return nil, errors.New("--target and the quick flags (--url, --mqtt-url, --mqtt-plaintext-port, --ca, --token-env, --health-url, --gateway-config, --gateway-kind, --name) exclude each other")
	case f.target != "":
		var err error
		if t, err = spec.Load(f.target); err != nil {
			return nil, fmt.Errorf("--target: %w", err)
		}
	case quick:
		d := spec.Default()
		t = &d
		t.Name = f.name
		t.Ingest = spec.Ingest{URLs: f.urls, HealthURL: f.healthURL, CAFile: f.ca, TokenEnv: f.tokenEnv}
		t.Gateway = spec.Gateway{ConfigFile: f.gwConfig, Kind: f.gwKind}
		t.MQTT = spec.MQTT{URLs: f.mqttURLs, PlaintextPort: f.mqttPlainPort}
		t.Complete()
	default:
		return nil, errors.New("nothing to audit: give --target FILE, or --url URL, --mqtt-url URL and/or --gateway-config FILE (see --help)")
	}
	if f.timeout > 0 {
		t.Timeouts.Request = spec.Duration(f.timeout)
	}
	if f.deadline > 0 {
		t.Timeouts.Audit = spec.Duration(f.deadline)
	}
	plan, err := audit.Prepare(t)
	if err != nil {
		if f.target == "" {
			err = nameQuickFlags(err)
		}
		return nil, fmt.Errorf("invalid target:\n%w", err)
	}
	return plan, nil
}

// quickFlagFields maps target spec fields to the quick flags that set them.
var quickFlagFields = []struct{ field, flag string }{
	{"ingest.urls", "--url"}, {"ingest.health_url", "--health-url"}, {"ingest.ca_file", "--ca"},
	{"ingest.token_env", "--token-env"}, {"gateway.config_file", "--gateway-config"},
	{"gateway.kind", "--gateway-kind"}, {"mqtt.urls", "--mqtt-url"}, {"mqtt.plaintext_port", "--mqtt-plaintext-port"},
	{"timeouts.request", "--timeout"}, {"timeouts.audit", "--deadline/--timeout"},
}

// nameQuickFlags prefixes each field error of a quick-flag target with the
// flag the user typed ("--url: ingest.urls[0]: ...").
func nameQuickFlags(err error) error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return err
	}
	var out []error
	for _, e := range joined.Unwrap() {
		var fe *spec.FieldError
		if errors.As(e, &fe) {
			for _, q := range quickFlagFields {
				if fe.Field == q.field || strings.HasPrefix(fe.Field, q.field+"[") {
					e = fmt.Errorf("%s: %w", q.flag, e)
					break
				}
			}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// auditExitCode maps a result to the exit code: 1 for a finding at or above
// failOn, 3 when a control could not decide, else 0.
func auditExitCode(res *result.Result, failOn string) int {
	threshold := slices.Index(result.Severities, failOn)
	for _, f := range res.Findings {
		if i := slices.Index(result.Severities, f.Severity); i >= 0 && i <= threshold {
			return exitFindings
		}
	}
	if res.Summary.Controls.Error > 0 {
		return exitInconclusive
	}
	return exitOK
}

func readResult(path string) (*result.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res, err := result.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return res, nil
}

// writeResultFile writes the result through the one output writer: a
// private temp file in the same folder, renamed over path.
func writeResultFile(path string, res *result.Result) error {
	var buf bytes.Buffer
	if err := result.Encode(&buf, res); err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	return outfile.Write(path, buf.Bytes())
}
