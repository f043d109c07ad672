package collect

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/pki"
	"github.com/hardgate/hardgate/internal/spec"
)

// handshakeServer serves TLS with leaf on a loopback port (handshakes only)
// and returns its address.
func handshakeServer(t *testing.T, leaf *pki.Leaf) string {
	t.Helper()
	cert, err := leaf.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return serveHandshakes(t, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
}

func TestTransportTLSVerifiesEachEndpointWithItsOwnCA(t *testing.T) {
	now := time.Now()
	dir := t.TempDir()
	newCA := func(name string) (*pki.CA, string) {
		t.Helper()
		ca, err := pki.NewCA(name, now, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, name+".pem")
		if err := os.WriteFile(file, ca.CertPEM, 0o644); err != nil {
			t.Fatal(err)
		}
		return ca, file
	}
	serve := func(ca *pki.CA) string {
		t.Helper()
		leaf, err := ca.Issue([]string{"127.0.0.1"}, now, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return handshakeServer(t, leaf)
	}
	ingestCA, ingestCAFile := newCA("ingest-ca")
	mqttCA, mqttCAFile := newCA("mqtt-ca")
	httpsByIngestCA, httpsByMQTTCA := serve(ingestCA), serve(mqttCA)
	brokerByMQTTCA, brokerByIngestCA := serve(mqttCA), serve(ingestCA)

	tests := []struct {
		name        string
		target      spec.Target
		wantTrusted map[string]bool // endpoint address → certificate trusted
		wantCA      map[string]string
	}{
		{
			name: "an mqtts broker signed by the MQTT CA only verifies against mqtt.ca_file, the https ingest against ingest.ca_file",
			target: spec.Target{
				Ingest: spec.Ingest{URLs: []string{"https://" + httpsByIngestCA + "/v1/ingest"}, CAFile: ingestCAFile},
				MQTT:   spec.MQTT{URLs: []string{"mqtts://" + brokerByMQTTCA}, CAFile: mqttCAFile},
			},
			wantTrusted: map[string]bool{httpsByIngestCA: true, brokerByMQTTCA: true},
			wantCA:      map[string]string{httpsByIngestCA: ingestCAFile, brokerByMQTTCA: mqttCAFile},
		},
		{
			name: "an mqtts broker named in tls.addresses too is still verified against mqtt.ca_file",
			target: spec.Target{
				Ingest: spec.Ingest{CAFile: ingestCAFile},
				TLS:    spec.TLS{Addresses: []string{brokerByMQTTCA}},
				MQTT:   spec.MQTT{URLs: []string{"mqtts://" + brokerByMQTTCA}, CAFile: mqttCAFile},
			},
			wantTrusted: map[string]bool{brokerByMQTTCA: true},
			wantCA:      map[string]string{brokerByMQTTCA: mqttCAFile},
		},
		{
			name: "without mqtt.ca_file an mqtts broker is verified against ingest.ca_file",
			target: spec.Target{
				Ingest: spec.Ingest{URLs: []string{"https://" + httpsByIngestCA + "/v1/ingest"}, CAFile: ingestCAFile},
				MQTT:   spec.MQTT{URLs: []string{"mqtts://" + brokerByIngestCA}},
			},
			wantTrusted: map[string]bool{httpsByIngestCA: true, brokerByIngestCA: true},
			wantCA:      map[string]string{httpsByIngestCA: ingestCAFile, brokerByIngestCA: ingestCAFile},
		},
		{
			name: "an https ingest endpoint signed by the MQTT CA is not trusted through mqtt.ca_file",
			target: spec.Target{
				Ingest: spec.Ingest{URLs: []string{"https://" + httpsByMQTTCA + "/v1/ingest"}, CAFile: ingestCAFile},
				MQTT:   spec.MQTT{URLs: []string{"mqtts://" + brokerByMQTTCA}, CAFile: mqttCAFile},
			},
			wantTrusted: map[string]bool{httpsByMQTTCA: false, brokerByMQTTCA: true},
			wantCA:      map[string]string{httpsByMQTTCA: ingestCAFile, brokerByMQTTCA: mqttCAFile},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tgt := tt.target
			tgt.Timeouts.Request = spec.Duration(3 * time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			in, err := Resolve(&tgt)
			if err != nil {
				t.Fatal(err)
			}
			obs := &Observations{Target: &tgt, TLS: collectTLS(ctx, &tgt, in)}
			if len(obs.TLS) != len(tt.wantTrusted) {
				t.Fatalf("%d endpoints scanned, want %d", len(obs.TLS), len(tt.wantTrusted))
			}
			for _, ep := range obs.TLS {
				if ep.Report == nil {
					t.Fatalf("%s: scan failed: %v", ep.Address, ep.Err)
				}
				if ep.CAFile != tt.wantCA[ep.Address] {
					t.Errorf("%s verified with %q, want %q", ep.Address, ep.CAFile, tt.wantCA[ep.Address])
				}
				if got := ep.Report.Certificate.Trusted; got != tt.wantTrusted[ep.Address] {
					t.Errorf("%s trusted = %v (%s), want %v", ep.Address, got, ep.Report.Certificate.VerifyError, tt.wantTrusted[ep.Address])
				}
			}
		})
	}
}

// serveHandshakes completes TLS handshakes with cfg on a loopback port
// until the test ends, and returns the address.
func serveHandshakes(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_ = c.(*tls.Conn).Handshake()
			}()
		}
	}()
	return ln.Addr().String()
}
