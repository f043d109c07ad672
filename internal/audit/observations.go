package audit

import (
	"github.com/hardgate/hardgate/internal/probe/httpprobe"
	"github.com/hardgate/hardgate/internal/probe/ingestdconf"
	"github.com/hardgate/hardgate/internal/probe/mosquitto"
)

// Observations is everything the probes saw during one audit. Controls read
// it and judge; probes fill it and never judge. A nil part means the target
// named nothing for that probe, so its controls are not_applicable.
type Observations struct {
	// Target is the validated target spec.
	Target *Target
	// Ingest has one entry per ingest URL, in the order of the spec.
	Ingest []IngestObservation
	// TokenGiven reports whether the target declared a valid token.
	TokenGiven bool
	// Health is the GET of the health URL; nil when no URL is known.
	Health *httpprobe.Observation
	// HealthURL is the URL that was probed.
	HealthURL string
	// Config is the gateway config, nil when none was named.
	Config *ConfigObservation
	// TLS has one full TLS scan per TLS endpoint (https ingest URLs and
	// tls.addresses); empty when the target names none.
	TLS []TLSObservation
	// MQTT has one probe per broker URL of the target (mqtt.urls).
	MQTT []MQTTObservation
}

// IngestObservation is what the requests to one ingest URL saw.
type IngestObservation struct {
	URL string
	// Plaintext is true for an http:// URL.
	Plaintext bool
	// FromConfig is true when the URL was derived from the gateway config's
	// plaintext listener rather than listed in the spec.
	FromConfig bool
	// TLSVerifyError is set when the certificate did not verify against the
	// trust anchor; the anonymous requests were then repeated without
	// verification so that authentication could still be observed.
	TLSVerifyError string
	// Unauth is a POST without credentials.
	Unauth httpprobe.Observation
	// InvalidToken is a POST with a made-up bearer token; nil when not sent.
	InvalidToken *httpprobe.Observation
	// Valid is a POST with the valid token; nil when not sent.
	Valid *httpprobe.Observation
	// ValidSkipped says why the valid token was not sent.
	ValidSkipped string
}

// ConfigObservation is the gateway config that was read.
type ConfigObservation struct {
	Path string
	Kind string
	// Ingestd is set for kind ingestd.
	Ingestd *ingestdconf.File
	// Mosquitto is set for kind mosquitto.
	Mosquitto *mosquitto.Config
	// Err is set when the file could not be read or parsed.
	Err error
}
