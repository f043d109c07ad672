package tlsscan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// serverHelloBody builds a ServerHello body with optional extensions.
func serverHelloBody(version uint16, random []byte, suite uint16, exts ...[]byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, version)
	if random == nil {
		random = make([]byte, 32)
	}
	b = append(b, random...)
	b = append(b, 0) // empty session id
	b = binary.BigEndian.AppendUint16(b, suite)
	b = append(b, 0)
	if len(exts) > 0 {
		var e []byte
		for _, x := range exts {
			e = append(e, x...)
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(e)))
		b = append(b, e...)
	}
	return b
}

func ext(typ uint16, data ...byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

func TestParseServerHello(t *testing.T) {
	tests := []struct {
		name    string
		body    []byte
		want    ServerHello
		wantErr bool
	}{
		{
			name: "a TLS 1.2 ServerHello without extensions gives version and suite",
			body: serverHelloBody(0x0303, nil, 0xC02F),
			want: ServerHello{Version: VersionTLS12, CipherSuite: 0xC02F},
		},
		{
			name: "a TLS 1.3 ServerHello takes its version from supported_versions",
			body: serverHelloBody(0x0303, nil, 0x1301, ext(extSupportedVersions, 3, 4), ext(extKeyShare, 0, 0x1d, 0, 1, 9)),
			want: ServerHello{Version: VersionTLS13, CipherSuite: 0x1301, Group: 0x1d, Extensions: []uint16{extSupportedVersions, extKeyShare}},
		},
		{
			name: "a HelloRetryRequest is recognised by its random and names the group",
			body: serverHelloBody(0x0303, helloRetryRandom, 0x1302, ext(extSupportedVersions, 3, 4), ext(extKeyShare, 0, 0x17)),
			want: ServerHello{Version: VersionTLS13, CipherSuite: 0x1302, HelloRetry: true, Group: 0x17, Extensions: []uint16{extSupportedVersions, extKeyShare}},
		},
		{name: "a truncated ServerHello is malformed", body: serverHelloBody(0x0303, nil, 0xC02F)[:20], wantErr: true},
		{name: "an extension running past the end is malformed", body: append(serverHelloBody(0x0303, nil, 0xC02F), 0, 8, 0, 43, 0, 9), wantErr: true},
		{name: "an empty supported_versions is malformed", body: serverHelloBody(0x0303, nil, 0x1301, ext(extSupportedVersions)), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseServerHello(tt.body)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != tt.want.Version || got.CipherSuite != tt.want.CipherSuite || got.HelloRetry != tt.want.HelloRetry || got.Group != tt.want.Group || len(got.Extensions) != len(tt.want.Extensions) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseServerKeyExchange(t *testing.T) {
	dhe, _ := SuiteByID(0x009E)
	ecdhe, _ := SuiteByID(0xC02F)
	p := append([]byte{0x00, 0xff}, bytes.Repeat([]byte{0xff}, 127)...) // 1024-bit prime with a leading zero
	dh := binary.BigEndian.AppendUint16(nil, uint16(len(p)))
	dh = append(dh, p...)
	dh = append(dh, 0, 1, 2, 0, 1, 5)
	kx, err := parseServerKeyExchange(dhe, dh)
	if err != nil || kx.dhBits != 1024 {
		t.Errorf("DHE: bits %d err %v, want 1024", kx.dhBits, err)
	}
	kx, err = parseServerKeyExchange(ecdhe, []byte{3, 0, 0x17, 1, 4})
	if err != nil || kx.curve != 0x17 {
		t.Errorf("ECDHE: curve %x err %v", kx.curve, err)
	}
	if _, err := parseServerKeyExchange(ecdhe, []byte{1, 0}); !errors.Is(err, ErrMalformed) {
		t.Errorf("explicit curve: err %v, want ErrMalformed", err)
	}
}

func TestReadRecordRejectsWhatIsNotTLS(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"an HTTP answer is malformed", []byte("HTTP/1.1 400 Bad\r\n"), ErrMalformed},
		{"a record claiming 40000 bytes is malformed", []byte{22, 3, 3, 0x9c, 0x40}, ErrMalformed},
		{"an empty stream means closed", nil, ErrClosed},
		{"a cut record means closed", []byte{22, 3, 3, 0, 10, 1}, ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readRecord(bytes.NewReader(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestClientHelloRoundTripsThroughTheRecordReader(t *testing.T) {
	for _, v := range AllVersions {
		t.Run("a "+v.String()+" ClientHello is one well-formed record", func(t *testing.T) {
			ids := legacySuiteIDs()
			if v == VersionTLS13 {
				ids = tls13SuiteIDs()
			}
			rec := marshalClientHello(helloSpec{version: v, suites: ids, groups: groupIDs(true), serverName: "gateway.test", keyShares: []keyShare{{group: 0x1d, key: make([]byte, 32)}}})
			hr := &handshakeReader{r: bytes.NewReader(rec)}
			msg, err := hr.next()
			if err != nil || msg.typ != msgClientHello {
				t.Fatalf("msg %d err %v", msg.typ, err)
			}
			if got := Version(binary.BigEndian.Uint16(msg.body)); got != min(v, VersionTLS12) {
				t.Errorf("client_version %v", got)
			}
		})
	}
}

// FuzzParseServerHello parses arbitrary ServerHello bodies.
func FuzzParseServerHello(f *testing.F) {
	f.Add(serverHelloBody(0x0303, nil, 0xC02F))
	f.Add(serverHelloBody(0x0303, helloRetryRandom, 0x1302, ext(extSupportedVersions, 3, 4), ext(extKeyShare, 0, 0x17)))
	f.Add([]byte{3, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		sh, err := ParseServerHello(b)
		if err == nil && sh == nil {
			t.Fatal("nil ServerHello without error")
		}
	})
}

// FuzzServerFlight feeds a whole server answer (records, alerts, the
// Certificate, ServerKeyExchange and ServerHelloDone messages) to the
// reader the scanner uses.
func FuzzServerFlight(f *testing.F) {
	sh := serverHelloBody(0x0303, nil, 0x009E)
	msg := append([]byte{msgServerHello, 0, 0, byte(len(sh))}, sh...)
	msg = append(msg, msgCertificate, 0, 0, 3, 0, 0, 0)
	msg = append(msg, msgServerKeyExchange, 0, 0, 5, 0, 1, 7, 0, 0)
	msg = append(msg, msgServerHelloDone, 0, 0, 0)
	rec := append([]byte{recordHandshake, 3, 3, 0, byte(len(msg))}, msg...)
	f.Add(rec)
	f.Add([]byte{recordAlert, 3, 3, 0, 2, 2, 40})
	f.Add([]byte("garbage that is not tls"))
	f.Fuzz(func(t *testing.T, b []byte) {
		hr := &handshakeReader{r: bytes.NewReader(b)}
		m, err := hr.next()
		if err != nil || m.typ != msgServerHello {
			return
		}
		hello, err := ParseServerHello(m.body)
		if err != nil {
			return
		}
		var res probeResult
		_ = readFlight(hr, hello, &res)
	})
}

func TestGroupByNameGivesEveryGroupItsSize(t *testing.T) {
	tests := []struct {
		name   string
		group  string
		want   int
		wantOK bool
	}{
		{"x25519 is 253 bits", "x25519", 253, true},
		{"secp256r1 is 256 bits", "secp256r1", 256, true},
		{"the weakest binary curve sect163r1 is 163 bits", "sect163r1", 163, true},
		{"sect163r2 is 163 bits", "sect163r2", 163, true},
		{"sect193r1 is 193 bits", "sect193r1", 193, true},
		{"sect193r2 is 193 bits", "sect193r2", 193, true},
		{"secp160r2 is 160 bits", "secp160r2", 160, true},
		{"ffdhe2048 is 2048 bits", "ffdhe2048", 2048, true},
		{"an unknown code point's placeholder name is not in the table", "group-0x1234", 0, false},
		{"OpenSSL's alias prime256v1 is not a table name", "prime256v1", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, ok := GroupByName(tt.group)
			if ok != tt.wantOK || g.Bits != tt.want {
				t.Errorf("GroupByName(%q) = %+v, %v; want %d bits, %v", tt.group, g, ok, tt.want, tt.wantOK)
			}
		})
	}
	for _, g := range groups {
		if got, ok := GroupByName(g.Name); !ok || got != g {
			t.Errorf("GroupByName(%q) = %+v, %v; want %+v", g.Name, got, ok, g)
		}
	}
}
