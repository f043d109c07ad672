package collect

import (
	"context"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/hardgate/hardgate/internal/probe/tlsscan"
	"github.com/hardgate/hardgate/internal/spec"
)

// tlsEndpoints lists the https ingest URLs' host:port, tls.addresses and
// the mqtts brokers' host:port, without duplicates, in spec order, each
// with the CA file that verifies it: ingest.ca_file for https URLs;
// mqtt.ca_file (falling back to ingest.ca_file) for mqtts brokers, also
// when a tls.addresses entry names the same endpoint; for the other
// tls.addresses ingest.ca_file, or mqtt.ca_file when only that is given.
func tlsEndpoints(t *spec.Target) []TLSObservation {
	var out []TLSObservation
	index := map[string]int{}
	add := func(addr, name, caFile string) int {
		if i, ok := index[addr]; ok {
			return i
		}
		index[addr] = len(out)
		out = append(out, TLSObservation{Address: addr, ServerName: name, CAFile: caFile})
		return len(out) - 1
	}
	fromIngest := map[string]bool{}
	for _, raw := range t.Ingest.URLs {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "https" {
			continue
		}
		addr := hostPort(u, "443")
		add(addr, u.Hostname(), t.Ingest.CAFile)
		fromIngest[addr] = true
	}
	other := t.Ingest.CAFile
	if other == "" {
		other = t.MQTT.CAFile // an MQTT-only target names its trust anchor there
	}
	for _, a := range t.TLS.Addresses {
		host, _, _ := net.SplitHostPort(a)
		add(a, host, other)
	}
	mqttCA := mqttCAFile(t)
	for _, raw := range t.MQTT.URLs {
		u, err := url.Parse(raw)
		if err != nil || !spec.IsMQTTS(u.Scheme) {
			continue
		}
		addr := hostPort(u, "8883")
		if i := add(addr, u.Hostname(), mqttCA); !fromIngest[addr] {
			out[i].CAFile = mqttCA // the broker's own trust anchor wins over a tls.addresses guess
		}
	}
	return out
}

func hostPort(u *url.URL, defaultPort string) string {
	port := u.Port()
	if port == "" {
		port = defaultPort
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// mqttCAFile is the trust anchor of mqtts brokers: mqtt.ca_file, else ingest.ca_file.
func mqttCAFile(t *spec.Target) string {
	if t.MQTT.CAFile != "" {
		return t.MQTT.CAFile
	}
	return t.Ingest.CAFile
}

// collectTLS scans every TLS endpoint of the target concurrently.
func collectTLS(ctx context.Context, t *spec.Target, in *Inputs) []TLSObservation {
	eps := tlsEndpoints(t)
	var wg sync.WaitGroup
	for i := range eps {
		ep := &eps[i]
		wg.Go(func() {
			cfg := tlsscan.DefaultConfig(ep.Address)
			cfg.ServerName = ep.ServerName
			cfg.Roots = in.Roots(ep.CAFile)
			cfg.HandshakeTimeout = time.Duration(t.Timeouts.Request)
			ep.Report, ep.Err = tlsscan.Scan(ctx, cfg)
		})
	}
	wg.Wait()
	return eps
}
