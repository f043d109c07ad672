// Package collect does all the I/O of an audit: it resolves what a target
// spec refers to (environment variables, CA files: one loader for HTTP, TLS
// and MQTT), runs the probes the target names, and returns what they saw as
// Observations. It never judges: package controls does, from the
// Observations alone.
package collect

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hardgate/hardgate/internal/probe/httpprobe"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

// ProbeField is the JSON field that marks a probe record.
const ProbeField = "_hardgate_probe"

// Collect runs every probe the target names and returns the observations.
// t must have passed Validate and in come from Resolve(t). The error is
// only for a problem with the spec itself; everything a probe meets is an
// observation. ctx bounds the whole collection.
func Collect(ctx context.Context, t *spec.Target, in *Inputs, auditID string, logger *slog.Logger) (*Observations, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := newCollector(t, in, auditID)
	obs := &Observations{Target: t, TokenGiven: in.Token != "", ConfigFiles: []result.ConfigFile{}}
	if t.Gateway.ConfigFile != "" {
		co, files, err := readConfig(ctx, t.Gateway.ConfigFile, t.Gateway.Kind)
		if err != nil {
			return nil, err
		}
		obs.Config = co
		obs.ConfigFiles = append(obs.ConfigFiles, files...)
	}
	// The TLS scan and the MQTT probe touch other endpoints than the HTTP
	// requests, so the three run side by side; each is bounded by ctx.
	tlsDone := make(chan []TLSObservation, 1)
	go func() { tlsDone <- collectTLS(ctx, t, in) }()
	mqttDone := make(chan []MQTTObservation, 1)
	go func() { mqttDone <- collectMQTT(ctx, t, in, auditID, logger) }()
	for _, u := range ingestURLs(t, obs.Config) {
		obs.Ingest = append(obs.Ingest, c.probeIngest(ctx, u))
	}
	obs.MQTT = <-mqttDone
	obs.TLS = <-tlsDone
	if hu := healthURL(t, obs.Ingest); hu != "" {
		obs.HealthURL = hu
		obs.Health = c.probeHealth(ctx, hu, obs.Ingest)
	}
	return obs, nil
}

// collector sends the HTTP requests of an audit.
type collector struct {
	auditID  string
	token    string
	verified *httpprobe.Prober
	insecure *httpprobe.Prober
}

func newCollector(t *spec.Target, in *Inputs, auditID string) *collector {
	c := &collector{auditID: auditID, token: in.Token}
	opts := httpprobe.Options{
		Timeout:   time.Duration(t.Timeouts.Request),
		RootCAs:   in.Roots(t.Ingest.CAFile),
		Secrets:   []string{in.Token},
		UserAgent: "hardgate-audit/" + auditID,
	}
	c.verified = httpprobe.New(opts)
	opts.InsecureSkipVerify = true
	c.insecure = httpprobe.New(opts)
	return c
}

func (c *collector) probePayload() []byte {
	return fmt.Appendf(nil, `{%q:true,"audit_id":%q,"device":"hardgate-probe","metric":"hardgate.probe","value":0}`, ProbeField, c.auditID)
}

// post sends one marked probe record; secrets are redacted from its
// evidence besides the valid token.
func (c *collector) post(ctx context.Context, p *httpprobe.Prober, raw, authorization string, secrets ...string) httpprobe.Observation {
	h := map[string]string{
		"Content-Type":        "application/json",
		httpprobe.ProbeHeader: c.auditID,
	}
	if authorization != "" {
		h["Authorization"] = authorization
	}
	return p.Do(ctx, httpprobe.Request{Method: "POST", URL: raw, Headers: h, Body: c.probePayload(), Secrets: secrets})
}

// probeHealth GETs the health URL, without verification when an ingest
// URL's chain did not verify, so health is observed even then.
func (c *collector) probeHealth(ctx context.Context, hu string, ingest []IngestObservation) *httpprobe.Observation {
	p := c.verified
	for _, in := range ingest {
		if in.TLSVerifyError != "" {
			p = c.insecure
		}
	}
	h := p.Do(ctx, httpprobe.Request{Method: "GET", URL: hu, Headers: map[string]string{httpprobe.ProbeHeader: c.auditID}})
	return &h
}
