package audit

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/hardgate/hardgate/internal/probe/httpprobe"
	"github.com/hardgate/hardgate/internal/probe/ingestdconf"
	"github.com/hardgate/hardgate/internal/result"
)

// ProbeField is the JSON field that marks a probe record.
const ProbeField = "_hardgate_probe"

// collector runs the probes the target names.
type collector struct {
	target   *Target
	auditID  string
	token    string
	verified *httpprobe.Prober
	insecure *httpprobe.Prober
}

func newCollector(t *Target, auditID string) (*collector, error) {
	c := &collector{target: t, auditID: auditID}
	if t.Ingest.TokenEnv != "" {
		c.token = os.Getenv(t.Ingest.TokenEnv)
	}
	var roots *x509.CertPool
	if t.Ingest.CAFile != "" {
		pem, err := os.ReadFile(t.Ingest.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate found", t.Ingest.CAFile)
		}
	}
	opts := httpprobe.Options{
		Timeout:   time.Duration(t.Timeouts.Request),
		RootCAs:   roots,
		Secrets:   []string{c.token},
		UserAgent: "hardgate-audit/" + auditID,
	}
	c.verified = httpprobe.New(opts)
	opts.InsecureSkipVerify = true
	c.insecure = httpprobe.New(opts)
	return c, nil
}

// collect runs every probe. It returns an error only for a problem with the
// spec itself; everything a probe meets is an observation.
func (c *collector) collect(ctx context.Context) (*Observations, []result.ConfigFile, error) {
	obs := &Observations{Target: c.target, TokenGiven: c.token != ""}
	var files []result.ConfigFile
	if c.target.Gateway.ConfigFile != "" {
		co := &ConfigObservation{Path: c.target.Gateway.ConfigFile, Kind: c.target.Gateway.Kind}
		switch co.Kind {
		case ingestdconf.Kind:
			f, err := ingestdconf.Read(co.Path)
			if err != nil {
				co.Err = err
			} else {
				co.Ingestd = f
				files = append(files, result.ConfigFile{Path: co.Path, Kind: co.Kind, SHA256: f.SHA256})
			}
		case MosquittoKind:
			files = append(files, readMosquittoConfig(co)...)
		default:
			return nil, nil, fmt.Errorf("gateway.kind %q: no reader", co.Kind)
		}
		obs.Config = co
	}
	// The TLS scan and the MQTT probe touch other endpoints than the HTTP
	// requests, so the three run side by side; each is bounded by ctx.
	tlsDone := make(chan []TLSObservation, 1)
	go func() { tlsDone <- collectTLS(ctx, c.target) }()
	mqttDone := make(chan []MQTTObservation, 1)
	go func() { mqttDone <- collectMQTT(ctx, c.target) }()
	for _, raw := range c.ingestURLs(obs.Config) {
		obs.Ingest = append(obs.Ingest, c.probeIngest(ctx, raw))
	}
	obs.MQTT = <-mqttDone
	obs.TLS = <-tlsDone
	if hu := c.healthURL(obs); hu != "" {
		obs.HealthURL = hu
		p := c.verified
		for _, in := range obs.Ingest {
			if in.TLSVerifyError != "" {
				p = c.insecure // observe health even when the chain is broken
			}
		}
		h := p.Do(ctx, httpprobe.Request{Method: "GET", URL: hu, Headers: map[string]string{httpprobe.ProbeHeader: c.auditID}})
		obs.Health = &h
	}
	return obs, files, nil
}

type ingestURL struct {
	raw        string
	fromConfig bool
}

// ingestURLs lists the spec's URLs, plus the gateway config's plaintext
// listener when the spec does not already name it.
func (c *collector) ingestURLs(co *ConfigObservation) []ingestURL {
	var out []ingestURL
	for _, u := range c.target.Ingest.URLs {
		out = append(out, ingestURL{raw: u})
	}
	if co == nil || co.Ingestd == nil || co.Ingestd.Config.Listen.HTTP == "" {
		return out
	}
	host, port, err := net.SplitHostPort(co.Ingestd.Config.Listen.HTTP)
	if err != nil {
		return out
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if len(c.target.Ingest.URLs) > 0 {
			if u, err := url.Parse(c.target.Ingest.URLs[0]); err == nil {
				host = u.Hostname()
			}
		}
	}
	for _, u := range out {
		if pu, err := url.Parse(u.raw); err == nil && pu.Scheme == "http" && pu.Port() == port {
			return out
		}
	}
	derived := url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: "/v1/ingest"}
	return append(out, ingestURL{raw: derived.String(), fromConfig: true})
}

func (c *collector) probePayload() []byte {
	return fmt.Appendf(nil, `{%q:true,"audit_id":%q,"device":"hardgate-probe","metric":"hardgate.probe","value":0}`, ProbeField, c.auditID)
}

func (c *collector) post(ctx context.Context, p *httpprobe.Prober, raw, authorization string) httpprobe.Observation {
	h := map[string]string{
		"Content-Type":        "application/json",
		httpprobe.ProbeHeader: c.auditID,
	}
	if authorization != "" {
		h["Authorization"] = authorization
	}
	return p.Do(ctx, httpprobe.Request{Method: "POST", URL: raw, Headers: h, Body: c.probePayload()})
}

func (c *collector) probeIngest(ctx context.Context, in ingestURL) IngestObservation {
	io := IngestObservation{URL: in.raw, FromConfig: in.fromConfig}
	u, err := url.Parse(in.raw)
	io.Plaintext = err == nil && u.Scheme == "http"
	p := c.verified
	io.Unauth = c.post(ctx, p, in.raw, "")
	if io.Unauth.ErrKind == httpprobe.ErrTLSVerify {
		io.TLSVerifyError = io.Unauth.Exchange.Error
		p = c.insecure
		io.Unauth = c.post(ctx, p, in.raw, "")
	}
	if in.fromConfig || c.token == "" {
		if c.token == "" {
			io.ValidSkipped = "no valid token was given (token_env)"
		} else {
			io.ValidSkipped = "the URL comes from the config's plaintext listener"
		}
		return io
	}
	inv := c.post(ctx, p, in.raw, "Bearer hardgate-probe-invalid-"+c.auditID)
	io.InvalidToken = &inv
	switch {
	case io.Plaintext:
		io.ValidSkipped = "the valid token is never sent over plaintext HTTP"
	case io.TLSVerifyError != "":
		io.ValidSkipped = "the valid token is never sent over TLS that did not verify"
	default:
		v := c.post(ctx, p, in.raw, "Bearer "+c.token)
		io.Valid = &v
	}
	return io
}

func (c *collector) healthURL(obs *Observations) string {
	if c.target.Ingest.HealthURL != "" {
		return c.target.Ingest.HealthURL
	}
	if len(obs.Ingest) == 0 {
		return ""
	}
	u, err := url.Parse(obs.Ingest[0].URL)
	if err != nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/healthz"}).String()
}
