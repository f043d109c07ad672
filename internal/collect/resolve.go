package collect

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/hardgate/hardgate/internal/localfile"
	"github.com/hardgate/hardgate/internal/spec"
)

// Inputs are what a spec refers to outside itself, resolved once before
// the probes run: the secrets read from the environment and the trust
// anchors read from the CA files.
type Inputs struct {
	// Token is the valid device token (ingest.token_env), "" without one.
	Token string
	// MQTTPassword is mqtt.username's password (mqtt.password_env).
	MQTTPassword string
	// roots maps a CA file to its pool; "" (the system roots) maps to nil.
	roots map[string]*x509.CertPool
}

// Roots returns the pool of caFile, which Resolve loaded; "" is the system
// roots (nil).
func (in *Inputs) Roots(caFile string) *x509.CertPool { return in.roots[caFile] }

// Resolve reads the environment variables and the files a validated spec
// names: the token, the MQTT password, every CA file (the one CA loader,
// for HTTP, TLS and MQTT alike) and whether the gateway config file can be
// read. Every problem is a *spec.FieldError, all of them joined, so a user
// sees them together with Validate's.
func Resolve(t *spec.Target) (*Inputs, error) {
	in := &Inputs{roots: map[string]*x509.CertPool{"": nil}}
	var errs []error
	add := func(field, value, msg string) {
		errs = append(errs, &spec.FieldError{Field: field, Value: value, Msg: msg})
	}
	in.Token = env(t.Ingest.TokenEnv, "ingest.token_env", add)
	if t.MQTT.Username != "" {
		in.MQTTPassword = env(t.MQTT.PasswordEnv, "mqtt.password_env", add)
	}
	for _, ca := range []struct{ field, file string }{{"ingest.ca_file", t.Ingest.CAFile}, {"mqtt.ca_file", t.MQTT.CAFile}} {
		if _, done := in.roots[ca.file]; done {
			continue
		}
		pool, err := loadRoots(ca.file)
		if err != nil {
			add(ca.field, ca.file, err.Error())
			continue
		}
		in.roots[ca.file] = pool
	}
	if t.Gateway.ConfigFile != "" {
		if err := localfile.Check(t.Gateway.ConfigFile); err != nil {
			add("gateway.config_file", t.Gateway.ConfigFile, "cannot be read: "+pathErrText(err))
		}
	}
	return in, errors.Join(errs...)
}

// env reads the variable name (none: ""); set but empty is an error.
func env(name, field string, add func(field, value, msg string)) string {
	if name == "" {
		return ""
	}
	v := os.Getenv(name)
	if v == "" {
		add(field, name, "the environment variable is unset or empty")
	}
	return v
}

// maxCABytes caps a CA file: a bundle of a few hundred certificates.
const maxCABytes = 4 << 20

// loadRoots reads a PEM CA file into a pool: the one CA loader of an
// audit. An empty name is the system roots (nil).
func loadRoots(caFile string) (*x509.CertPool, error) {
	if caFile == "" {
		return nil, nil
	}
	// Read before any probe runs: a FIFO or a device is refused at once,
	// so no deadline is needed yet.
	pem, err := localfile.Read(context.Background(), caFile, maxCABytes)
	if err != nil {
		return nil, fmt.Errorf("cannot be read: %s", pathErrText(err))
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, errors.New("holds no PEM certificate")
	}
	return roots, nil
}

// pathErrText is the cause of a file error without the path, which the
// field error already shows.
func pathErrText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
