package collect

import (
	"github.com/hardgate/hardgate/internal/probe/httpprobe"
	"github.com/hardgate/hardgate/internal/probe/ingestdconf"
	"github.com/hardgate/hardgate/internal/probe/mosquitto"
	mqttprobe "github.com/hardgate/hardgate/internal/probe/mqtt"
	"github.com/hardgate/hardgate/internal/probe/tlsscan"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

// Observations is everything the probes saw during one audit. Controls read
// it and judge; probes fill it and never judge. A nil or empty part means
// the target named nothing for that probe, so its controls are
// not_applicable. Each probe family adds one field here.
type Observations struct {
	// Target is the validated target spec.
	Target *spec.Target
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
	// TLS has one full TLS scan per TLS endpoint (https ingest URLs,
	// tls.addresses and mqtts brokers); empty when the target names none.
	TLS []TLSObservation
	// MQTT has one probe per broker URL of the target (mqtt.urls).
	MQTT []MQTTObservation
	// ConfigFiles are the config files read, with their digests.
	ConfigFiles []result.ConfigFile
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
	// NearMiss are POSTs with near-miss variants of the valid token (see
	// NearMiss), sent under the valid token's rule: only over TLS that
	// verified. Empty when not sent; ValidSkipped then says why.
	NearMiss []NearMissObservation
	// Valid is a POST with the valid token; nil when not sent.
	Valid *httpprobe.Observation
	// ValidSkipped says why the valid token (and its near misses) was not sent.
	ValidSkipped string
}

// NearMissObservation is the POST with one near-miss token.
type NearMissObservation struct {
	// Variant names the near miss (never the token).
	Variant string
	Obs     httpprobe.Observation
}

// ConfigObservation is the gateway config that was read.
type ConfigObservation struct {
	Path string
	Kind string
	// Ingestd is set for kind ingestd.
	Ingestd *ingestdconf.File
	// Mosquitto is set for kind mosquitto.
	Mosquitto *mosquitto.Config
	// ACLs are the acl_files of a mosquitto config's listeners, keyed by
	// the path read (see ACLFor).
	ACLs map[string]*ACLObservation
	// Err is set when the file could not be read or parsed.
	Err error
}

// ACLObservation is one acl_file of a mosquitto config, read and parsed.
type ACLObservation struct {
	// Path is the file read: the acl_file value, relative to the folder of
	// the config file that names it.
	Path string
	// ACL is nil when the file could not be read or parsed (Err says why).
	ACL *mosquitto.ACL
	Err error
}

// ACLFor returns the observation of the acl_file directive d, nil when it
// was not read.
func (co *ConfigObservation) ACLFor(d *mosquitto.Directive) *ACLObservation {
	if d == nil {
		return nil
	}
	return co.ACLs[d.Path()]
}

// Settings is what the config rule engine reads from a gateway config,
// whatever its kind: the effective value of a key, the line it stands on
// (0 when a default applies), and the evidence citing it. ok is false for
// a key the kind does not have.
type Settings interface {
	Setting(key string) (value string, line int, ok bool)
	Evidence(key string) result.Evidence
}

// Settings returns the config's reader for the rule engine, nil when the
// config could not be read.
func (co *ConfigObservation) Settings() Settings {
	switch {
	case co.Ingestd != nil:
		return co.Ingestd
	case co.Mosquitto != nil:
		return co.Mosquitto
	}
	return nil
}

// TLSObservation is the full TLS scan of one endpoint.
type TLSObservation struct {
	// Address is host:port; ServerName the host checked against the certificate.
	Address    string
	ServerName string
	// CAFile is the trust anchor the certificate was verified with (empty:
	// the system roots): mqtt.ca_file for an mqtts broker, ingest.ca_file
	// for the rest.
	CAFile string
	// Report is nil when the scan could not run at all (Err says why).
	Report *tlsscan.Report
	Err    error
}

// MQTTObservation is the probe of one broker URL.
type MQTTObservation struct {
	URL string
	// Result is nil when the probe could not run (Err says why).
	Result *mqttprobe.Result
	Err    error
}
