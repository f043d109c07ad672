package mosquitto

// Posture is the effective security of one listener, after Mosquitto 2's
// defaults and per_listener_settings are applied.
type Posture struct {
	// Listener is the block; in local-only mode it is a synthetic listener
	// on port 1883 bound to loopback, with no directive (Line 0).
	Listener Listener
	// LocalOnly is set when the config has no listener at all: Mosquitto 2
	// then binds to loopback only and allows anonymous clients.
	LocalOnly bool
	// AnonymousAllowed is the effective allow_anonymous.
	AnonymousAllowed bool
	// AnonymousBecause explains AnonymousAllowed in one sentence.
	AnonymousBecause string
	// AllowAnonymous is the directive that decided, when one did.
	AllowAnonymous *Directive
	// PasswordFile, ACLFile, Plugin and PSKFile are the effective security
	// directives, nil when unset.
	PasswordFile *Directive
	ACLFile      *Directive
	Plugin       *Directive
	PSKFile      *Directive
}

// TLS reports whether the listener speaks TLS.
func (p Posture) TLS() bool { return p.Listener.TLS() }

// Authenticates reports whether some authentication source is configured
// (password file, auth plugin, PSK file or client certificates as identity).
func (p Posture) Authenticates() bool {
	if p.PasswordFile != nil || p.Plugin != nil || p.PSKFile != nil {
		return true
	}
	d, ok := p.Listener.Setting("use_identity_as_username")
	if ok && d.Value == "true" {
		return true
	}
	d, ok = p.Listener.Setting("use_subject_as_username")
	return ok && d.Value == "true"
}

// Postures returns the effective posture of every listener, in order.
func (c *Config) Postures() []Posture {
	per := c.PerListenerSettings != nil && c.PerListenerSettings.Value == "true"
	lookup := func(l Listener, name string) *Directive {
		if per && len(c.Listeners) > 0 {
			if d, ok := l.Settings[name]; ok {
				return &d
			}
			return nil
		}
		if d, ok := c.Global[name]; ok {
			return &d
		}
		return nil
	}
	plugin := func(l Listener) *Directive {
		if d := lookup(l, "plugin"); d != nil {
			return d
		}
		return lookup(l, "auth_plugin")
	}
	if len(c.Listeners) == 0 {
		l := Listener{Port: "1883", Bind: "127.0.0.1", Settings: map[string]Directive{}}
		p := Posture{Listener: l, LocalOnly: true, PasswordFile: lookup(l, "password_file"),
			ACLFile: lookup(l, "acl_file"), Plugin: plugin(l), PSKFile: lookup(l, "psk_file")}
		p.AllowAnonymous = lookup(l, "allow_anonymous")
		switch {
		case p.AllowAnonymous != nil && p.AllowAnonymous.Value == "false":
			p.AnonymousBecause = "allow_anonymous false"
		case p.AllowAnonymous != nil:
			p.AnonymousAllowed, p.AnonymousBecause = true, "allow_anonymous true"
		default:
			p.AnonymousAllowed = true
			p.AnonymousBecause = "no listener is configured: Mosquitto 2 runs in local-only mode (loopback) and allows anonymous clients"
		}
		return []Posture{p}
	}
	out := make([]Posture, 0, len(c.Listeners))
	for _, l := range c.Listeners {
		p := Posture{Listener: l, PasswordFile: lookup(l, "password_file"), ACLFile: lookup(l, "acl_file"),
			Plugin: plugin(l), PSKFile: lookup(l, "psk_file"), AllowAnonymous: lookup(l, "allow_anonymous")}
		switch {
		case p.AllowAnonymous == nil:
			p.AnonymousBecause = "allow_anonymous is not set: Mosquitto 2 refuses anonymous clients on a configured listener"
		case p.AllowAnonymous.Value == "true":
			p.AnonymousAllowed, p.AnonymousBecause = true, "allow_anonymous true"
		default:
			p.AnonymousBecause = "allow_anonymous false"
		}
		out = append(out, p)
	}
	return out
}
