package mosquitto

import (
	"fmt"
	"strings"
)

// Directive is one configuration line.
type Directive struct {
	// File and Line locate the directive (Line is 1-based).
	File string
	Line int
	// Name is the option ("listener", "allow_anonymous").
	Name string
	// Value is the rest of the line, trimmed ("8883 0.0.0.0", "true").
	Value string
}

// Args splits Value on white space.
func (d Directive) Args() []string { return strings.Fields(d.Value) }

// String is "file:line: name value".
func (d Directive) String() string {
	return fmt.Sprintf("%s:%d: %s %s", d.File, d.Line, d.Name, d.Value)
}

// Listener is one listener block (or the default listener made by "port").
type Listener struct {
	// Directive is the "listener" (or "port") line.
	Directive Directive
	// Port is the port ("0" for a unix socket listener).
	Port string
	// Bind is the bind address or host from the listener line or
	// bind_address/bind_interface; empty means all interfaces.
	Bind string
	// Socket is the unix socket path of a "listener 0 path" line.
	Socket string
	// Settings holds the last occurrence of each directive in the block.
	Settings map[string]Directive
}

// Setting returns the directive name set in this block, if any.
func (l Listener) Setting(name string) (Directive, bool) {
	d, ok := l.Settings[name]
	return d, ok
}

// TLS reports whether the listener has a certificate (certfile) or a PSK
// hint, that is, whether it speaks TLS.
func (l Listener) TLS() bool {
	_, cert := l.Settings["certfile"]
	_, psk := l.Settings["psk_hint"]
	return cert || psk
}

// Loopback reports whether the listener binds only a loopback address or a unix socket.
func (l Listener) Loopback() bool {
	if l.Socket != "" {
		return true
	}
	switch l.Bind {
	case "127.0.0.1", "::1", "localhost", "lo":
		return true
	}
	return strings.HasPrefix(l.Bind, "127.")
}

func isPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func newListener(d Directive) (Listener, error) {
	args := d.Args()
	if len(args) < 1 || len(args) > 2 {
		return Listener{}, fmt.Errorf("%w: %s:%d: listener needs a port and an optional bind address", ErrSyntax, d.File, d.Line)
	}
	l := Listener{Directive: d, Port: args[0], Settings: map[string]Directive{}}
	if !isPort(l.Port) {
		return Listener{}, fmt.Errorf("%w: %s:%d: listener port %q is not a number", ErrSyntax, d.File, d.Line, l.Port)
	}
	if len(args) == 2 {
		if l.Port == "0" {
			l.Socket = args[1]
		} else {
			l.Bind = args[1]
		}
	}
	return l, nil
}

func boolValue(d Directive) (bool, error) {
	switch d.Value {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%w: %s:%d: %s must be true or false, got %q", ErrSyntax, d.File, d.Line, d.Name, d.Value)
}
