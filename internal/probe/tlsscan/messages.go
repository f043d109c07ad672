package tlsscan

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// ParseServerHello parses a ServerHello handshake body (without the
// four-byte message header).
func ParseServerHello(b []byte) (*ServerHello, error) {
	c := cursor{b: b}
	var sh ServerHello
	sh.Version = Version(c.u16())
	random := c.bytes(32)
	sid := c.bytes(int(c.u8()))
	sh.CipherSuite = c.u16()
	sh.Compression = c.u8()
	if c.err != nil || len(sid) > 32 {
		return nil, fmt.Errorf("%w: short ServerHello", ErrMalformed)
	}
	sh.HelloRetry = bytes.Equal(random, helloRetryRandom)
	if c.empty() {
		return &sh, nil
	}
	ext := cursor{b: c.bytes(int(c.u16()))}
	if c.err != nil || !c.empty() {
		return nil, fmt.Errorf("%w: ServerHello extensions length", ErrMalformed)
	}
	for !ext.empty() {
		typ := ext.u16()
		data := cursor{b: ext.bytes(int(ext.u16()))}
		if ext.err != nil {
			return nil, fmt.Errorf("%w: ServerHello extension", ErrMalformed)
		}
		sh.Extensions = append(sh.Extensions, typ)
		switch typ {
		case extSupportedVersions:
			v := data.u16()
			if data.err != nil {
				return nil, fmt.Errorf("%w: supported_versions", ErrMalformed)
			}
			sh.Version = Version(v)
		case extKeyShare:
			g := data.u16()
			if data.err != nil {
				return nil, fmt.Errorf("%w: key_share", ErrMalformed)
			}
			sh.Group = g
		}
	}
	return &sh, nil
}

// ParseCertificateMsg parses a TLS 1.2 Certificate message body into DER
// certificates.
func ParseCertificateMsg(b []byte) ([][]byte, error) {
	c := cursor{b: b}
	list := cursor{b: c.bytes(c.u24())}
	if c.err != nil || !c.empty() {
		return nil, fmt.Errorf("%w: certificate list length", ErrMalformed)
	}
	var certs [][]byte
	for !list.empty() {
		der := list.bytes(list.u24())
		if list.err != nil || len(der) == 0 {
			return nil, fmt.Errorf("%w: certificate entry", ErrMalformed)
		}
		certs = append(certs, der)
	}
	return certs, nil
}

// parseServerKeyExchange reads the parameters of a DHE or ECDHE
// ServerKeyExchange (the signature is not checked: nothing is trusted here).
func parseServerKeyExchange(s Suite, b []byte) (keyExchange, error) {
	c := cursor{b: b}
	if s.Kx == "DHEPSK" || s.Kx == "ECDHEPSK" {
		c.bytes(int(c.u16())) // psk_identity_hint
	}
	var kx keyExchange
	switch {
	case s.DHE():
		p := c.bytes(int(c.u16()))
		if c.err != nil {
			return kx, fmt.Errorf("%w: DH parameters", ErrMalformed)
		}
		for len(p) > 0 && p[0] == 0 {
			p = p[1:]
		}
		if len(p) == 0 {
			return kx, fmt.Errorf("%w: DH prime is zero", ErrMalformed)
		}
		kx.dhBits = (len(p)-1)*8 + bitLen(p[0])
	case s.ECDHE():
		if t := c.u8(); t != 3 {
			if c.err != nil {
				return kx, fmt.Errorf("%w: ECDH parameters", ErrMalformed)
			}
			return kx, fmt.Errorf("%w: ECDH curve type %d is not named_curve", ErrMalformed, t)
		}
		kx.curve = c.u16()
		if c.err != nil {
			return kx, fmt.Errorf("%w: ECDH parameters", ErrMalformed)
		}
	}
	return kx, nil
}

func bitLen(b byte) int {
	n := 0
	for ; b != 0; b >>= 1 {
		n++
	}
	return n
}

// cursor reads big-endian fields and remembers the first short read.
type cursor struct {
	b   []byte
	err error
}

func (c *cursor) take(n int) []byte {
	if c.err != nil {
		return nil
	}
	if n < 0 || len(c.b) < n {
		c.err = io.ErrUnexpectedEOF
		c.b = nil
		return nil
	}
	out := c.b[:n]
	c.b = c.b[n:]
	return out
}

func (c *cursor) empty() bool { return len(c.b) == 0 }

func (c *cursor) u8() byte {
	b := c.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (c *cursor) u16() uint16 {
	b := c.take(2)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}

func (c *cursor) u24() int {
	b := c.take(3)
	if b == nil {
		return 0
	}
	return int(b[0])<<16 | int(b[1])<<8 | int(b[2])
}

func (c *cursor) bytes(n int) []byte { return c.take(n) }
