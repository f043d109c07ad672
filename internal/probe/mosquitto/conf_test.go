package mosquitto

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPostures(t *testing.T) {
	type want struct {
		port      string
		anonymous bool
		tls       bool
		loopback  bool
		localOnly bool
		password  bool
		acl       bool
		anonLine  int
	}
	tests := []struct {
		name string
		conf string
		want []want
	}{
		{
			name: "no listener line means local-only mode with anonymous clients allowed",
			conf: "log_dest stdout\npersistence false\n",
			want: []want{{port: "1883", anonymous: true, loopback: true, localOnly: true}},
		},
		{
			name: "a listener without allow_anonymous refuses anonymous clients",
			conf: "listener 1883\n",
			want: []want{{port: "1883"}},
		},
		{
			name: "allow_anonymous true applies to every listener without per_listener_settings",
			conf: "listener 1883 127.0.0.1\nlistener 8883\ncertfile /etc/c.pem\nkeyfile /etc/k.pem\n\n# comment\nallow_anonymous true\n",
			want: []want{{port: "1883", anonymous: true, loopback: true, anonLine: 7}, {port: "8883", anonymous: true, tls: true, anonLine: 7}},
		},
		{
			name: "per_listener_settings scopes allow_anonymous and password_file to their block",
			conf: "per_listener_settings true\nlistener 1883 127.0.0.1\nallow_anonymous true\nlistener 8883\ncertfile /c\npassword_file /p\nacl_file /a\n",
			want: []want{{port: "1883", anonymous: true, loopback: true, anonLine: 3}, {port: "8883", tls: true, password: true, acl: true}},
		},
		{
			name: "the deprecated port line makes a default listener on all interfaces",
			conf: "allow_anonymous false\nport 1884\npassword_file /p\n",
			want: []want{{port: "1884", password: true, anonLine: 1}},
		},
		{
			name: "bind_address in a listener block binds it",
			conf: "listener 1883\nbind_address 127.0.0.1\n",
			want: []want{{port: "1883", loopback: true}},
		},
		{
			name: "a unix socket listener is local",
			conf: "listener 0 /run/mosquitto.sock\nallow_anonymous true\n",
			want: []want{{port: "0", anonymous: true, loopback: true, anonLine: 2}},
		},
		{
			name: "tabs, indentation and CRLF line ends are accepted",
			conf: "\tlistener\t1883   127.0.0.1\r\n  allow_anonymous   true  \r\n",
			want: []want{{port: "1883", anonymous: true, loopback: true, anonLine: 2}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tc.conf), "mosquitto.conf")
			if err != nil {
				t.Fatal(err)
			}
			ps := c.Postures()
			if len(ps) != len(tc.want) {
				t.Fatalf("%d postures, want %d: %+v", len(ps), len(tc.want), ps)
			}
			for i, w := range tc.want {
				p := ps[i]
				got := want{port: p.Listener.Port, anonymous: p.AnonymousAllowed, tls: p.TLS(), loopback: p.Listener.Loopback(),
					localOnly: p.LocalOnly, password: p.PasswordFile != nil, acl: p.ACLFile != nil}
				if p.AllowAnonymous != nil {
					got.anonLine = p.AllowAnonymous.Line
				}
				if got != w {
					t.Errorf("listener %d = %+v, want %+v (%s)", i, got, w, p.AnonymousBecause)
				}
				if p.AnonymousBecause == "" {
					t.Errorf("listener %d: no explanation", i)
				}
			}
		})
	}
}

func TestParseRefusesBadInput(t *testing.T) {
	tests := []struct {
		name string
		conf string
		line string
	}{
		{"allow_anonymous must be true or false", "listener 1883\nallow_anonymous yes\n", "mosquitto.conf:2"},
		{"per_listener_settings must be true or false", "per_listener_settings 1\n", "mosquitto.conf:1"},
		{"a listener needs a port", "listener\n", "mosquitto.conf:1"},
		{"a listener port is a number", "listener mqtt\n", "mosquitto.conf:1"},
		{"a listener takes at most a port and an address", "listener 1883 127.0.0.1 extra\n", "mosquitto.conf:1"},
		{"port takes one number", "port 1883 1884\n", "mosquitto.conf:1"},
		{"a NUL byte is refused", "listener 1883\x00\n", "mosquitto.conf:1"},
		{"include_dir needs a directory", "include_dir\n", "mosquitto.conf:1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.conf), "mosquitto.conf")
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("err = %v, want ErrSyntax", err)
			}
			if !strings.Contains(err.Error(), tc.line) {
				t.Errorf("error %q does not name %s", err, tc.line)
			}
		})
	}
	t.Run("a file over the size cap is refused", func(t *testing.T) {
		big := strings.Repeat("# padding line\n", MaxFileBytes/15+10)
		if _, err := Parse(strings.NewReader(big), "big.conf"); err == nil {
			t.Fatal("want an error")
		}
	})
}

func TestLoadFollowsIncludeDir(t *testing.T) {
	dir := t.TempDir()
	confd := filepath.Join(dir, "conf.d")
	if err := os.Mkdir(confd, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(p, s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	main := filepath.Join(dir, "mosquitto.conf")
	write(main, "per_listener_settings false\ninclude_dir conf.d\n")
	write(filepath.Join(confd, "b.conf"), "listener 8883\ncertfile /c\n")
	write(filepath.Join(confd, "a.conf"), "listener 1883 127.0.0.1\n\nallow_anonymous true\ninclude_dir /nowhere\n")
	write(filepath.Join(confd, "Z.conf"), "password_file /p\n")
	write(filepath.Join(confd, "ignored.txt"), "allow_anonymous false\n")

	c, err := Load(main)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{main, filepath.Join(confd, "Z.conf"), filepath.Join(confd, "a.conf"), filepath.Join(confd, "b.conf")}
	if strings.Join(c.Files, ",") != strings.Join(wantFiles, ",") {
		t.Errorf("files = %v, want %v", c.Files, wantFiles)
	}
	ps := c.Postures()
	if len(ps) != 2 || ps[0].Listener.Port != "1883" || ps[1].Listener.Port != "8883" {
		t.Fatalf("postures = %+v", ps)
	}
	a := ps[1].AllowAnonymous
	if a == nil || a.File != filepath.Join(confd, "a.conf") || a.Line != 3 {
		t.Errorf("allow_anonymous evidence = %+v, want a.conf:3", a)
	}
	if ps[1].PasswordFile == nil || ps[1].PasswordFile.File != filepath.Join(confd, "Z.conf") {
		t.Errorf("password_file evidence = %+v", ps[1].PasswordFile)
	}
	if !ps[1].TLS() || ps[0].TLS() {
		t.Errorf("TLS = %v, %v; want false, true", ps[0].TLS(), ps[1].TLS())
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "only processed from the main") {
		t.Errorf("warnings = %v", c.Warnings)
	}
	if _, err := Load(filepath.Join(dir, "missing.conf")); err == nil {
		t.Error("a missing file loads")
	}
}

func FuzzParse(f *testing.F) {
	f.Add("listener 1883 127.0.0.1\nallow_anonymous true\n")
	f.Add("per_listener_settings true\nport 1883\nlistener 8883\ncertfile /c\npassword_file /p\n")
	f.Add("include_dir /etc/mosquitto/conf.d\n# c\n\tlistener 0 /s\n")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(strings.NewReader(s), "fuzz.conf")
		if err != nil {
			return
		}
		ps := c.Postures()
		if len(ps) == 0 {
			t.Fatal("no posture")
		}
		for _, p := range ps {
			if p.AnonymousBecause == "" {
				t.Fatal("posture without explanation")
			}
			if p.AllowAnonymous != nil && (p.AllowAnonymous.Line < 1 || p.AllowAnonymous.File != "fuzz.conf") {
				t.Fatalf("bad evidence %+v", p.AllowAnonymous)
			}
		}
	})
}
