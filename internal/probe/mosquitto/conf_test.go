package mosquitto

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/probe/mosquitto/mosquittotest"
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
	// Mosquitto reads Z.conf after a.conf (case-insensitive order), so its
	// allow_anonymous false is the one in force.
	write(filepath.Join(confd, "Z.conf"), "password_file /p\nallow_anonymous false\n")
	write(filepath.Join(confd, "ignored.txt"), "allow_anonymous true\n")
	write(filepath.Join(confd, ".conf"), "allow_anonymous true\n") // too short a name: mosquitto skips it

	c, err := Load(main)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{main, filepath.Join(confd, "a.conf"), filepath.Join(confd, "b.conf"), filepath.Join(confd, "Z.conf")}
	if strings.Join(c.Files, ",") != strings.Join(wantFiles, ",") {
		t.Errorf("files = %v, want %v", c.Files, wantFiles)
	}
	ps := c.Postures()
	if len(ps) != 2 || ps[0].Listener.Port != "1883" || ps[1].Listener.Port != "8883" {
		t.Fatalf("postures = %+v", ps)
	}
	a := ps[1].AllowAnonymous
	if a == nil || a.File != filepath.Join(confd, "Z.conf") || a.Line != 2 || ps[1].AnonymousAllowed {
		t.Errorf("allow_anonymous evidence = %+v (allowed %v), want Z.conf:2 false", a, ps[1].AnonymousAllowed)
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

func TestIncludeOrderMatchesMosquitto(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		want  []string
	}{
		{"letters sort ignoring case, so Z comes after a", []string{"Z.conf", "b.conf", "a.conf"}, []string{"a.conf", "b.conf", "Z.conf"}},
		{"names equal but for case put the capital first", []string{"a.conf", "A.conf"}, []string{"A.conf", "a.conf"}},
		{"case decides at the first position where only the case differs", []string{"ab.conf", "aB.conf", "a.conf", "Ab.conf", "A.conf"}, []string{"A.conf", "Ab.conf", "a.conf", "aB.conf", "ab.conf"}},
		{"digits and dots come before letters, the underscore after them", []string{"_x.conf", "x.y.conf", "0.conf", ".x.conf"}, []string{".x.conf", "0.conf", "x.y.conf", "_x.conf"}},
		{"a name that is a prefix of another comes first", []string{"ab.conf", "a.conf"}, []string{"a.conf", "ab.conf"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := slices.Clone(tc.names)
			slices.SortFunc(got, includeOrder)
			if !slices.Equal(got, tc.want) {
				t.Errorf("order = %v, want %v", got, tc.want)
			}
		})
	}
}

// Interop: Debian's Mosquitto 2.0 logs "Loading config file" for each file
// of include_dir; Load must read them in the same order.
func TestIncludeOrderAgainstMosquitto(t *testing.T) {
	names := []string{"a.conf", "A.conf", "_x.conf", "b.conf", "B.conf", "0.conf", "ab.conf", "aB.conf", "Ab.conf", "x.y.conf", "Z.conf"}
	b := mosquittotest.New(t, func(port int, dir string) string {
		return "listener " + strconv.Itoa(port) + " 127.0.0.1\ninclude_dir " + filepath.Join(dir, "conf.d") + "\n"
	})
	confd := filepath.Join(b.Dir, "conf.d")
	if err := os.Mkdir(confd, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		body := "# " + n + "\n"
		switch n {
		case "a.conf":
			body = "allow_anonymous true\n"
		case "Z.conf":
			body = "allow_anonymous false\n"
		}
		if err := os.WriteFile(filepath.Join(confd, n), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b.Start()
	var loaded []string
	for _, line := range strings.Split(b.Log(), "\n") {
		if _, f, ok := strings.Cut(line, "Loading config file "); ok {
			loaded = append(loaded, strings.TrimSpace(f))
		}
	}
	c, err := Load(b.Conf)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != len(names) || !slices.Equal(c.Files[1:], loaded) {
		t.Fatalf("Load read %v, mosquitto loaded %v", c.Files[1:], loaded)
	}

	t.Run("the last file's allow_anonymous is in force, as the broker applies it", func(t *testing.T) {
		ps := c.Postures()
		if len(ps) != 1 || ps[0].AnonymousAllowed || ps[0].AllowAnonymous == nil || filepath.Base(ps[0].AllowAnonymous.File) != "Z.conf" {
			t.Fatalf("postures = %+v", ps)
		}
		conn, err := net.DialTimeout("tcp", b.Addr(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		// MQTT 3.1.1 CONNECT, clean session, keep-alive 10 s, client id "hg".
		connect := []byte{0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 10, 0, 2, 'h', 'g'}
		if _, err := conn.Write(connect); err != nil {
			t.Fatal(err)
		}
		connack := make([]byte, 4)
		if _, err := io.ReadFull(conn, connack); err != nil {
			t.Fatal(err)
		}
		if connack[0] != 0x20 || connack[3] != 5 {
			t.Errorf("CONNACK = % x, want return code 5 (not authorised): the broker applied another allow_anonymous", connack)
		}
	})
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
