package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// report gathers the devices' results.
type report struct {
	opts      options
	started   time.Time
	latencies []time.Duration
	lastDone  time.Time
	listening time.Time // earliest accepted connection
	refused   int
	failed    int
	failures  map[string]int
	// CPU used by ingestd (whole run) and by the simulated devices.
	ingestdCPU, devicesCPU time.Duration
	peakRSS                string // ingestd's VmHWM
}

func (r *report) add(res result) {
	r.refused += res.refused
	if !res.dialed.IsZero() && (r.listening.IsZero() || res.dialed.Before(r.listening)) {
		r.listening = res.dialed
	}
	if res.err != nil || res.status != 202 {
		r.failed++
		if r.failures == nil {
			r.failures = map[string]int{}
		}
		key := fmt.Sprintf("status %d", res.status)
		if res.err != nil {
			key = res.err.Error()
			if i := strings.LastIndex(key, ": "); i >= 0 {
				key = key[i+2:] // "write tcp A->B: write: broken pipe" → "broken pipe"
			}
		}
		r.failures[key]++
		return
	}
	r.latencies = append(r.latencies, res.latency)
	if res.done.After(r.lastDone) {
		r.lastDone = res.done
	}
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func (r *report) print(w io.Writer) {
	slices.Sort(r.latencies)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
	curves := "X25519, P-256"
	if r.opts.pq {
		curves = "X25519MLKEM768 (Go default)"
	}
	fmt.Fprintf(w, "devices: %d (%s tokens), first POSTs spread over %s from the start of ingestd, one TLS connection each (%s)\n",
		r.opts.devices, r.opts.hash, r.opts.spread, curves)
	fmt.Fprintf(w, "202: %d, failed: %d; ingestd accepted its first connection %s after its start (%d attempts refused before)\n",
		len(r.latencies), r.failed, ms(r.listening.Sub(r.started)), r.refused)
	if len(r.latencies) > 0 {
		fmt.Fprintf(w, "first-request latency: p50 %s, p90 %s, p99 %s, max %s\n",
			ms(quantile(r.latencies, .5)), ms(quantile(r.latencies, .9)), ms(quantile(r.latencies, .99)), ms(r.latencies[len(r.latencies)-1]))
		fmt.Fprintf(w, "time from the start of ingestd until all got 202: %s\n", ms(r.lastDone.Sub(r.started)))
	}
	fmt.Fprintf(w, "CPU: ingestd %s (%.0f us per device, handshake included), devices %s; ingestd peak RSS %s\n",
		ms(r.ingestdCPU), float64(r.ingestdCPU)/float64(time.Microsecond)/float64(r.opts.devices), ms(r.devicesCPU), r.peakRSS)
	keys := make([]string, 0, len(r.failures))
	for k := range r.failures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  failure %q: %d\n", k, r.failures[k])
	}
}
