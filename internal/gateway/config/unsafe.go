package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
)

// Unsafe setting names, as written in guardrails.allow_unsafe.
const (
	UnsafePlaintextListener   = "plaintext_listener"
	UnsafeAuthNone            = "auth_none"
	UnsafeTLSBelow12          = "tls_below_1_2"
	UnsafeNonLoopbackPlain    = "non_loopback_plaintext"
	UnsafeSecretFileReadable  = "secret_file_readable"
	UnsafeSecretFileReplace   = "secret_file_replaceable"
	UnsafeSilenceAnnouncement = "silence_unsafe"
	UnsafeForwardUnacked      = "forward_unacknowledged"
	UnsafePlaintextUpstream   = "plaintext_upstream"
)

// UnsafeSettingNames lists every unsafe setting name, sorted.
func UnsafeSettingNames() []string {
	names := []string{
		UnsafePlaintextListener, UnsafeAuthNone, UnsafeTLSBelow12,
		UnsafeNonLoopbackPlain, UnsafeSecretFileReadable, UnsafeSilenceAnnouncement,
		UnsafeForwardUnacked, UnsafeSecretFileReplace, UnsafePlaintextUpstream,
	}
	slices.Sort(names)
	return names
}

// UnsafeSetting is one unsafe setting in force.
type UnsafeSetting struct {
	// Name is the guardrail name, e.g. "auth_none".
	Name string `json:"setting"`
	// Field is the config key that puts it in force, e.g. "auth.mode".
	Field string `json:"field"`
	// Value is the value in force.
	Value string `json:"value"`
	// Detail explains the risk in one sentence.
	Detail string `json:"detail"`
	// Allowed reports whether guardrails.allow_unsafe names it.
	Allowed bool `json:"allowed"`
}

// FileModeFunc returns the permission bits of a file; os.Stat by default.
type FileModeFunc func(path string) (fs.FileMode, error)

// StatMode is the FileModeFunc backed by os.Stat.
func StatMode(path string) (fs.FileMode, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Mode().Perm(), nil
}

// UnsafeSettings lists the unsafe settings in force, sorted by name then
// field. mode reads file permissions for the secret-file checks; nil skips
// them. With a mode, the owners and directories of the secret files are
// checked on the file system too (SecretFileExposure).
func (c *Config) UnsafeSettings(mode FileModeFunc) []UnsafeSetting {
	var out []UnsafeSetting
	add := func(name, field, value, detail string) {
		out = append(out, UnsafeSetting{
			Name: name, Field: field, Value: value, Detail: detail,
			Allowed: slices.Contains(c.Guardrails.AllowUnsafe, name),
		})
	}
	if c.Listen.HTTP != "" {
		add(UnsafePlaintextListener, "listen.http", c.Listen.HTTP,
			"telemetry and tokens cross the network unencrypted on the plaintext listener")
		if !IsLoopback(c.Listen.HTTP) {
			add(UnsafeNonLoopbackPlain, "listen.http", c.Listen.HTTP,
				"the plaintext listener is reachable from other hosts")
		}
	}
	if c.Auth.Mode == AuthNone {
		add(UnsafeAuthNone, "auth.mode", c.Auth.Mode, "any client can submit telemetry without proving its identity")
	}
	if c.TLS.MinVersion == "1.0" || c.TLS.MinVersion == "1.1" {
		add(UnsafeTLSBelow12, "tls.min_version", c.TLS.MinVersion, "TLS 1.0 and 1.1 are deprecated (RFC 8996)")
	}
	if mode != nil {
		for _, f := range []struct{ field, path string }{
			{"tls.key_file", c.TLS.KeyFile},
			{"auth.tokens_file", c.Auth.TokensFile},
		} {
			if f.path == "" {
				continue
			}
			perm, err := mode(f.path)
			if err == nil && perm&0o077 != 0 {
				add(UnsafeSecretFileReadable, f.field, f.path,
					fmt.Sprintf("the secret file has mode %04o; it must not be readable by group or others (0600)", perm))
			}
			if why, err := SecretFileExposure(f.path); err == nil && why != "" {
				add(UnsafeSecretFileReplace, f.field, f.path, why+"; another user could change or replace the secret")
			}
		}
	}
	if field, u, ok := c.plaintextUpstream(); ok {
		add(UnsafePlaintextUpstream, field, u,
			"forwarded telemetry crosses the network unencrypted and the upstream is not authenticated; use https://, mqtts:// or tls:// (nats with a ca_file)")
	}
	if c.Forward.Kind == "nats" && !c.Forward.NATS.JetStream {
		add(UnsafeForwardUnacked, "forward.nats.jetstream", "false",
			"core NATS acknowledges nothing: a batch leaves the queue once the server has read it and is lost when no subscriber is listening")
	}
	if c.Guardrails.LegacySilenceUnsafe {
		add(UnsafeSilenceAnnouncement, "guardrails.legacy_silence_unsafe", "true",
			"unsafe settings are not announced in /v1/posture, metrics or logs")
	}
	slices.SortStableFunc(out, func(a, b UnsafeSetting) int {
		if n := strings.Compare(a.Name, b.Name); n != 0 {
			return n
		}
		return strings.Compare(a.Field, b.Field)
	})
	return out
}

// plaintextUpstream returns the field and URL of a forward upstream that
// is reached without TLS on a host other than loopback: http://, mqtt://
// (or tcp://), and nats:// without a CA file (with one, ingestd uses TLS).
// An unparsable URL is left to Validate.
func (c *Config) plaintextUpstream() (field, raw string, ok bool) {
	f := c.Forward
	var plain map[string]bool
	switch f.Kind {
	case "http":
		field, raw, plain = "forward.http.url", f.HTTP.URL, map[string]bool{"http": true}
	case "mqtt":
		field, raw, plain = "forward.mqtt.url", f.MQTT.URL, map[string]bool{"mqtt": true, "tcp": true}
	case "nats":
		field, raw, plain = "forward.nats.url", f.NATS.URL, map[string]bool{"nats": f.NATS.CAFile == ""}
	default:
		return "", "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !plain[u.Scheme] || isLoopbackHost(u.Hostname()) {
		return "", "", false
	}
	return field, raw, true
}

// isLoopbackHost reports whether host is localhost or a loopback address.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// IsLoopback reports whether a listen address binds only to loopback.
// An empty host ("":8080) binds every interface and is not loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	return isLoopbackHost(host)
}

// GuardrailError is an unsafe setting in force that guardrails.allow_unsafe
// does not name. Its message says how to fix or explicitly accept it.
type GuardrailError struct {
	Setting UnsafeSetting
}

func (e *GuardrailError) Error() string {
	s := e.Setting
	return fmt.Sprintf("unsafe setting %q is in force (%s = %q): %s; fix %s, or accept the risk by adding %q to guardrails.allow_unsafe",
		s.Name, s.Field, s.Value, s.Detail, s.Field, s.Name)
}

// CheckGuardrails returns one *GuardrailError, joined, for every unsafe
// setting in force that guardrails.allow_unsafe does not name; nil when
// every unsafe setting is allowed. mode is passed to UnsafeSettings.
func (c *Config) CheckGuardrails(mode FileModeFunc) error {
	var errs []error
	for _, s := range c.UnsafeSettings(mode) {
		if !s.Allowed {
			errs = append(errs, &GuardrailError{Setting: s})
		}
	}
	return errors.Join(errs...)
}
