// Package mosquitto reads mosquitto.conf (Mosquitto 2.x) the way the broker
// does, keeping the file and line of every directive so that an auditor can
// cite them: include_dir, per_listener_settings, listener blocks and the
// security settings that decide who may connect.
//
// It models Mosquitto 2's rule for anonymous clients: with no listener (no
// "listener" and no "port" line) the broker runs in local-only mode, bound
// to loopback, and allows anonymous clients; as soon as a listener is
// configured, anonymous clients are refused unless allow_anonymous is true.
// With per_listener_settings true the security settings belong to the
// listener block they stand in; otherwise they are global wherever they are.
package mosquitto

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hardgate/hardgate/internal/localfile"
)

// Caps on what is read.
const (
	// MaxFileBytes caps one config file.
	MaxFileBytes = 1 << 20
	// MaxFiles caps the files read through include_dir.
	MaxFiles = 256
	// maxLineBytes caps one line.
	maxLineBytes = 64 << 10
)

// Config is a parsed mosquitto.conf with its includes.
type Config struct {
	// Files lists the files read, main file first.
	Files []string
	// SHA256 holds the hex SHA-256 of each file of Files, in the same order.
	SHA256 []string
	// Directives holds every directive in the order mosquitto reads them.
	Directives []Directive
	// Listeners are the listener blocks in order. Empty means local-only mode.
	Listeners []Listener
	// PerListenerSettings is the per_listener_settings directive, if set.
	PerListenerSettings *Directive
	// Global holds the last occurrence of each directive outside any
	// listener block, and, when per_listener_settings is false, of every
	// security directive wherever it stands.
	Global map[string]Directive
	// Warnings are things mosquitto would ignore or warn about.
	Warnings []string
}

// securityOptions are the settings that per_listener_settings moves into listener blocks.
var securityOptions = []string{
	"acl_file", "allow_anonymous", "allow_zero_length_clientid", "auto_id_prefix",
	"password_file", "plugin", "auth_plugin", "plugin_opt", "psk_file",
}

// listenerOptions are options that belong to the listener block they follow.
var listenerOptions = []string{
	"bind_address", "bind_interface", "cafile", "capath", "certfile", "ciphers", "ciphers_tls1.3",
	"crlfile", "dhparamfile", "http_dir", "keyfile", "max_connections", "max_qos", "max_topic_alias",
	"mount_point", "protocol", "psk_hint", "require_certificate", "socket_domain", "tls_engine",
	"tls_engine_kpass_sha1", "tls_keyform", "tls_version", "use_identity_as_username",
	"use_subject_as_username", "use_username_as_clientid", "websockets_headers_size", "websockets_log_level",
}

// ErrSyntax marks a line mosquitto would refuse.
var ErrSyntax = errors.New("mosquitto.conf syntax error")

// Load reads the main config file at path and the files named by its
// include_dir directives.
func Load(path string) (*Config, error) { return LoadContext(context.Background(), path) }

// LoadContext is Load bounded by ctx. Every file is read through
// localfile: regular files only, so a FIFO or a device (named, or found in
// an include_dir) is refused instead of blocking the audit.
func LoadContext(ctx context.Context, path string) (*Config, error) {
	r := &reader{ctx: ctx}
	if err := r.file(path, true); err != nil {
		return nil, err
	}
	return r.build()
}

// Parse reads one config text (include_dir is recorded but not followed);
// name is used as the file of every directive. It is the reader-based
// entry the table tests and the fuzz target drive; an audit reads files
// with Load, so deadcode without -test lists Parse as unreachable.
func Parse(rd io.Reader, name string) (*Config, error) {
	r := &reader{noIncludes: true}
	if err := r.parse(rd, name, true); err != nil {
		return nil, err
	}
	return r.build()
}

type reader struct {
	ctx        context.Context
	files      []string
	digests    []string
	dirs       []Directive
	warnings   []string
	noIncludes bool
}

func (r *reader) file(path string, main bool) error {
	if len(r.files) >= MaxFiles {
		return fmt.Errorf("read %s: more than %d config files", path, MaxFiles)
	}
	data, err := localfile.Read(r.ctx, path, MaxFileBytes)
	if err != nil {
		return fmt.Errorf("open mosquitto config: %w", err)
	}
	return r.parse(bytes.NewReader(data), path, main)
}

func (r *reader) parse(rd io.Reader, name string, main bool) error {
	data, err := io.ReadAll(io.LimitReader(rd, MaxFileBytes+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > MaxFileBytes {
		return fmt.Errorf("read %s: larger than %d bytes", name, MaxFileBytes)
	}
	r.files = append(r.files, name)
	sum := sha256.Sum256(data)
	r.digests = append(r.digests, hex.EncodeToString(sum[:]))
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxLineBytes)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), " \t\r")
		text = strings.TrimLeft(text, " \t")
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if strings.ContainsRune(text, 0) {
			return fmt.Errorf("%w: %s:%d: NUL byte", ErrSyntax, name, line)
		}
		opt, value := text, ""
		if i := strings.IndexAny(text, " \t"); i >= 0 {
			opt, value = text[:i], text[i+1:]
		}
		d := Directive{File: name, Line: line, Name: opt, Value: strings.TrimSpace(value)}
		if d.Name == "include_dir" {
			if err := r.include(d, main); err != nil {
				return err
			}
			continue
		}
		r.dirs = append(r.dirs, d)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: %s:%d: %v", ErrSyntax, name, line+1, err)
	}
	return nil
}

// include follows include_dir: every file of the directory whose name is
// longer than ".conf" and ends in ".conf", in the order of includeOrder.
func (r *reader) include(d Directive, main bool) error {
	r.dirs = append(r.dirs, d)
	if d.Value == "" {
		return fmt.Errorf("%w: %s:%d: include_dir needs a directory", ErrSyntax, d.File, d.Line)
	}
	if !main {
		r.warnings = append(r.warnings, fmt.Sprintf("%s:%d: include_dir is only processed from the main configuration file", d.File, d.Line))
		return nil
	}
	if r.noIncludes {
		r.warnings = append(r.warnings, fmt.Sprintf("%s:%d: include_dir %s not followed", d.File, d.Line, d.Value))
		return nil
	}
	dir := d.Value
	// Mosquitto opens a relative directory from its working directory,
	// which an auditor does not know; the config file's directory is the
	// usual one.
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(filepath.Dir(d.File), dir)
	}
	entries, err := localfile.ReadDir(r.ctx, dir)
	if err != nil {
		return fmt.Errorf("%s:%d: include_dir: %w", d.File, d.Line, err)
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && len(n) > len(".conf") && strings.HasSuffix(n, ".conf") {
			names = append(names, n)
		}
	}
	slices.SortFunc(names, includeOrder)
	for _, n := range names {
		if err := r.file(filepath.Join(dir, n), false); err != nil {
			return err
		}
	}
	return nil
}

// includeOrder compares two include_dir file names the way Mosquitto 2's
// config__get_dir_files sorts them (scmp_p in src/conf.c): character by
// character, first ignoring ASCII case, and at the first position where
// only the case differs, capitals first. So "A.conf" < "Ab.conf" <
// "a.conf" < "B.conf", and "Z.conf" comes after "a.conf", unlike a byte
// order. Bytes are compared unsigned, as on ARM; x86 builds of Mosquitto
// compare bytes over 0x7f as negative, which only matters for non-ASCII names.
func includeOrder(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if d := int(upperASCII(a[i])) - int(upperASCII(b[i])); d != 0 {
			return d
		}
		if d := int(a[i]) - int(b[i]); d != 0 {
			return d
		}
	}
	return len(a) - len(b)
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

func (r *reader) build() (*Config, error) {
	c := &Config{Files: r.files, SHA256: r.digests, Directives: r.dirs, Global: map[string]Directive{}, Warnings: r.warnings}
	per := false
	for _, d := range r.dirs {
		if d.Name == "per_listener_settings" {
			v, err := boolValue(d)
			if err != nil {
				return nil, err
			}
			dd := d
			c.PerListenerSettings, per = &dd, v
		}
	}
	// Options before the first listener line belong to the default
	// listener, which exists only when a "port" line sets its port.
	dflt := map[string]Directive{}
	var port *Directive
	cur := -1
	for _, d := range r.dirs {
		switch d.Name {
		case "listener":
			l, err := newListener(d)
			if err != nil {
				return nil, err
			}
			c.Listeners = append(c.Listeners, l)
			cur = len(c.Listeners) - 1
			continue
		case "port":
			if len(d.Args()) != 1 || !isPort(d.Args()[0]) {
				return nil, fmt.Errorf("%w: %s:%d: port needs one number", ErrSyntax, d.File, d.Line)
			}
			dd := d
			port = &dd
			continue
		case "allow_anonymous", "require_certificate", "use_identity_as_username", "use_subject_as_username":
			if _, err := boolValue(d); err != nil {
				return nil, err
			}
		}
		isSecurity := slices.Contains(securityOptions, d.Name)
		isListener := slices.Contains(listenerOptions, d.Name)
		switch {
		case isSecurity && !per:
			c.Global[d.Name] = d
		case (isSecurity || isListener) && cur >= 0:
			c.Listeners[cur].Settings[d.Name] = d
		case isSecurity || isListener:
			dflt[d.Name] = d
		default:
			c.Global[d.Name] = d
		}
	}
	if port != nil {
		l := Listener{Directive: *port, Port: port.Args()[0], Settings: dflt}
		c.Listeners = append([]Listener{l}, c.Listeners...)
	} else {
		for k, d := range dflt {
			if _, ok := c.Global[k]; !ok {
				c.Global[k] = d
			}
		}
	}
	for i := range c.Listeners {
		l := &c.Listeners[i]
		if l.Bind != "" {
			continue
		}
		if d, ok := l.Settings["bind_address"]; ok {
			l.Bind = d.Value
		} else if d, ok := l.Settings["bind_interface"]; ok {
			l.Bind = d.Value
		}
	}
	return c, nil
}
