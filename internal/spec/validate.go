package spec

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Validate checks every field and returns every problem, joined, each a
// *FieldError naming the field and the value. It is pure: it changes
// nothing and reads no file and no environment variable (package collect
// resolves those, with errors of the same type).
func (t *Target) Validate() error {
	var errs []error
	add := func(field, value, msg string) {
		errs = append(errs, &FieldError{Field: field, Value: value, Msg: msg})
	}
	if len(t.Ingest.URLs) == 0 && t.Gateway.ConfigFile == "" && len(t.MQTT.URLs) == 0 && len(t.TLS.Addresses) == 0 {
		add("ingest.urls", "", "name at least one ingest URL, TLS address, MQTT broker URL or gateway config file")
	}
	for i, raw := range t.Ingest.URLs {
		checkURL(fmt.Sprintf("ingest.urls[%d]", i), raw, add)
	}
	if t.Ingest.HealthURL != "" {
		checkURL("ingest.health_url", t.Ingest.HealthURL, add)
	}
	if t.Ingest.TokenEnv != "" {
		errs = append(errs, checkEnvName("ingest.token_env", t.Ingest.TokenEnv, "token", "HARDGATE_TOKEN")...)
	}
	if t.Gateway.Kind != "" && !slices.Contains(GatewayKinds, t.Gateway.Kind) {
		add("gateway.kind", t.Gateway.Kind, "must be one of "+strings.Join(GatewayKinds, ", "))
	}
	if t.Gateway.Kind != "" && t.Gateway.ConfigFile == "" {
		add("gateway.config_file", "", "required when gateway.kind is set")
	}
	t.TLS.validate(add)
	errs = append(errs, t.MQTT.validate(add)...)
	if t.Timeouts.Request <= 0 {
		add("timeouts.request", time.Duration(t.Timeouts.Request).String(), "must be positive")
	}
	if t.Timeouts.Audit < t.Timeouts.Request {
		add("timeouts.audit", time.Duration(t.Timeouts.Audit).String(), "must be at least timeouts.request")
	}
	return errors.Join(errs...)
}

type addFunc func(field, value, msg string)

func checkURL(field, raw string, add addFunc) {
	u, err := url.Parse(raw)
	switch {
	case !strings.Contains(raw, "://"):
		add(field, raw, "has no scheme: write https://"+raw+" (http:// only for a plaintext listener)")
	case err != nil:
		add(field, raw, "is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		add(field, raw, "scheme must be http or https")
	case u.Hostname() == "":
		add(field, raw, "has no host")
	case u.User != nil:
		add(field, raw, "must not carry credentials; use ingest.token_env")
	}
}

// checkEnvName refuses a *_env value that is not a variable name, without
// printing it: it may be the secret itself.
func checkEnvName(field, name, secret, example string) []error {
	if IsEnvName(name) {
		return nil
	}
	return []error{&FieldError{Field: field, Value: ShownEnvName(name),
		Msg: "must be an environment variable name: " + EnvNameHint(secret, example)}}
}

func (s *TLS) validate(add addFunc) {
	for i, a := range s.Addresses {
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" || port == "" {
			add(fmt.Sprintf("tls.addresses[%d]", i), a, "must be host:port")
		}
	}
	if s.ExpiryWarningDays < 0 {
		add("tls.expiry_warning_days", fmt.Sprint(s.ExpiryWarningDays), "must not be negative")
	}
}

func (s *MQTT) validate(add addFunc) []error {
	var errs []error
	for i, raw := range s.URLs {
		field := fmt.Sprintf("mqtt.urls[%d]", i)
		u, err := url.Parse(raw)
		switch {
		case !strings.Contains(raw, "://"):
			add(field, raw, "has no scheme: write mqtts://"+raw+" (mqtt:// for a plaintext listener)")
		case err != nil:
			add(field, raw, "is not a URL")
		case !slices.Contains([]string{"mqtt", "mqtts", "tcp", "ssl", "tls"}, u.Scheme):
			add(field, raw, "scheme must be mqtt or mqtts")
		case u.Hostname() == "":
			add(field, raw, "has no host")
		case u.User != nil:
			add(field, raw, "must not carry credentials; use mqtt.username and mqtt.password_env")
		}
	}
	if s.Version != "" && s.Version != "3.1.1" && s.Version != "5" {
		add("mqtt.version", s.Version, `must be "3.1.1" or "5"`)
	}
	if s.PasswordEnv != "" {
		if s.Username == "" {
			add("mqtt.username", "", "required when mqtt.password_env is set")
		} else {
			errs = checkEnvName("mqtt.password_env", s.PasswordEnv, "password", "MQTT_PASSWORD")
		}
	}
	if strings.ContainsAny(s.TopicPrefix, "#+\x00") {
		add("mqtt.topic_prefix", s.TopicPrefix, "must not contain a wildcard")
	}
	if s.ListenFor < 0 {
		add("mqtt.listen_for", time.Duration(s.ListenFor).String(), "must not be negative")
	}
	if s.PlaintextPort != 0 {
		hasTLS := slices.ContainsFunc(s.URLs, func(raw string) bool {
			u, err := url.Parse(raw)
			return err == nil && IsMQTTS(u.Scheme)
		})
		switch {
		case s.PlaintextPort < 1 || s.PlaintextPort > 65535:
			add("mqtt.plaintext_port", strconv.Itoa(s.PlaintextPort), "must be a port from 1 to 65535 (0 or absent: no plaintext check)")
		case len(s.URLs) > 0 && !hasTLS:
			add("mqtt.plaintext_port", strconv.Itoa(s.PlaintextPort), "applies to mqtts:// URLs only, and mqtt.urls has none (an mqtt:// URL is itself the plaintext listener)")
		}
	}
	if len(s.URLs) == 0 && (s.Username != "" || s.CAFile != "" || s.PlaintextPort != 0) {
		add("mqtt.urls", "", "required when other mqtt settings are given")
	}
	return errs
}
