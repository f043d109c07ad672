package collect

import (
	"context"
	"net"
	"net/url"

	"github.com/hardgate/hardgate/internal/probe/neterr"
	"github.com/hardgate/hardgate/internal/spec"
)

type ingestURL struct {
	raw        string
	fromConfig bool
}

// ingestURLs lists the spec's URLs, plus the gateway config's plaintext
// listener when the spec does not already name it.
func ingestURLs(t *spec.Target, co *ConfigObservation) []ingestURL {
	var out []ingestURL
	for _, u := range t.Ingest.URLs {
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
		if len(t.Ingest.URLs) > 0 {
			if u, err := url.Parse(t.Ingest.URLs[0]); err == nil {
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

// probeIngest POSTs to one ingest URL without credentials, with a made-up
// token, with near misses of the valid token and with the valid token.
// The valid token and its near misses are sent only over TLS that verified
// against the trust anchor.
func (c *collector) probeIngest(ctx context.Context, in ingestURL) IngestObservation {
	io := IngestObservation{URL: in.raw, FromConfig: in.fromConfig}
	u, err := url.Parse(in.raw)
	io.Plaintext = err == nil && u.Scheme == "http"
	p := c.verified
	io.Unauth = c.post(ctx, p, in.raw, "")
	if io.Unauth.ErrKind == neterr.TLSVerify {
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
		// The valid token first: a gateway that remembers a verified
		// token (ingestd does, for slow legacy hashes) then judges the
		// near misses against it, and a throttle on failed attempts cannot
		// turn the positive control away.
		v := c.post(ctx, p, in.raw, "Bearer "+c.token)
		io.Valid = &v
		for _, nm := range nearMisses(c.token) {
			o := c.post(ctx, p, in.raw, "Bearer "+nm.token, nm.token)
			io.NearMiss = append(io.NearMiss, NearMissObservation{Variant: nm.Variant, Obs: o})
		}
	}
	return io
}

// healthURL is the spec's health URL, or /healthz on the first ingest URL's origin.
func healthURL(t *spec.Target, ingest []IngestObservation) string {
	if t.Ingest.HealthURL != "" {
		return t.Ingest.HealthURL
	}
	if len(ingest) == 0 {
		return ""
	}
	u, err := url.Parse(ingest[0].URL)
	if err != nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/healthz"}).String()
}
