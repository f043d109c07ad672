package tlsscan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/hardgate/hardgate/internal/probe/neterr"
)

// Record and handshake constants (RFC 5246, RFC 8446).
const (
	recordChangeCipherSpec = 20
	recordAlert            = 21
	recordHandshake        = 22
	recordApplicationData  = 23

	msgClientHello       = 1
	msgServerHello       = 2
	msgCertificate       = 11
	msgServerKeyExchange = 12
	msgCertificateReq    = 13
	msgServerHelloDone   = 14
	msgCertificateStatus = 22

	extServerName        = 0
	extStatusRequest     = 5
	extSupportedGroups   = 10
	extECPointFormats    = 11
	extSignatureAlgs     = 13
	extExtendedMS        = 23
	extSessionTicket     = 35
	extSupportedVersions = 43
	extPSKModes          = 45
	extKeyShare          = 51
	extRenegotiationInfo = 0xff01

	// maxRecord is the largest record body accepted (2^14 plus expansion).
	maxRecord = 16384 + 2048
	// maxFlight caps the handshake bytes read before ServerHelloDone.
	maxFlight = 256 << 10

	scsvRenegotiation = 0x00ff
)

// helloRetryRandom is the ServerHello.random that marks a HelloRetryRequest.
var helloRetryRandom = []byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

// Sentinel errors of the wire parser.
var (
	// ErrMalformed means the peer sent bytes that are not valid TLS.
	ErrMalformed = errors.New("malformed TLS message")
	// ErrClosed means the peer closed the connection before deciding.
	ErrClosed = errors.New("connection closed before the server answered")
)

// helloSpec is what one crafted ClientHello offers.
type helloSpec struct {
	version    Version // legacy_version, or TLS 1.3 via supported_versions
	suites     []uint16
	groups     []uint16
	keyShares  []keyShare // TLS 1.3 only; may be empty
	serverName string
	random     [32]byte
	sessionID  []byte
}

type keyShare struct {
	group uint16
	key   []byte
}

// marshalClientHello builds the whole record (header included).
func marshalClientHello(h helloSpec) []byte {
	var body []byte
	clientVersion := h.version
	if clientVersion > VersionTLS12 {
		clientVersion = VersionTLS12
	}
	body = binary.BigEndian.AppendUint16(body, uint16(clientVersion))
	body = append(body, h.random[:]...)
	body = append(body, byte(len(h.sessionID)))
	body = append(body, h.sessionID...)
	suites := append(append([]uint16(nil), h.suites...), scsvRenegotiation)
	body = binary.BigEndian.AppendUint16(body, uint16(2*len(suites)))
	for _, s := range suites {
		body = binary.BigEndian.AppendUint16(body, s)
	}
	body = append(body, 1, 0) // compression: null only

	var ext []byte
	addExt := func(typ uint16, data []byte) {
		ext = binary.BigEndian.AppendUint16(ext, typ)
		ext = binary.BigEndian.AppendUint16(ext, uint16(len(data)))
		ext = append(ext, data...)
	}
	if h.serverName != "" {
		var sni []byte
		sni = binary.BigEndian.AppendUint16(sni, uint16(len(h.serverName)+3))
		sni = append(sni, 0)
		sni = binary.BigEndian.AppendUint16(sni, uint16(len(h.serverName)))
		sni = append(sni, h.serverName...)
		addExt(extServerName, sni)
	}
	addExt(extStatusRequest, []byte{1, 0, 0, 0, 0})
	if len(h.groups) > 0 {
		g := binary.BigEndian.AppendUint16(nil, uint16(2*len(h.groups)))
		for _, id := range h.groups {
			g = binary.BigEndian.AppendUint16(g, id)
		}
		addExt(extSupportedGroups, g)
	}
	addExt(extECPointFormats, []byte{3, 0, 1, 2})
	sa := binary.BigEndian.AppendUint16(nil, uint16(2*len(signatureSchemes)))
	for _, s := range signatureSchemes {
		sa = binary.BigEndian.AppendUint16(sa, s)
	}
	addExt(extSignatureAlgs, sa)
	addExt(extExtendedMS, nil)
	addExt(extSessionTicket, nil)
	if h.version >= VersionTLS13 {
		addExt(extSupportedVersions, []byte{2, 0x03, 0x04})
		addExt(extPSKModes, []byte{1, 1})
		var ks []byte
		for _, k := range h.keyShares {
			ks = binary.BigEndian.AppendUint16(ks, k.group)
			ks = binary.BigEndian.AppendUint16(ks, uint16(len(k.key)))
			ks = append(ks, k.key...)
		}
		addExt(extKeyShare, append(binary.BigEndian.AppendUint16(nil, uint16(len(ks))), ks...))
	}
	body = binary.BigEndian.AppendUint16(body, uint16(len(ext)))
	body = append(body, ext...)

	msg := []byte{msgClientHello, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}
	msg = append(msg, body...)

	recVersion := VersionTLS10
	if h.version == VersionSSL30 {
		recVersion = VersionSSL30
	}
	rec := []byte{recordHandshake, byte(recVersion >> 8), byte(recVersion)}
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(msg)))
	return append(rec, msg...)
}

// record is one TLS record.
type record struct {
	typ     byte
	version uint16
	body    []byte
}

// readRecord reads one record, rejecting anything that is not TLS.
func readRecord(r io.Reader) (record, error) {
	var hdr [5]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		if n == 0 && (errors.Is(err, io.EOF)) {
			return record{}, ErrClosed
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return record{}, fmt.Errorf("%w: truncated record header", ErrClosed)
		}
		if neterr.Classify(err) == neterr.Reset {
			return record{}, fmt.Errorf("%w: %w", ErrClosed, err)
		}
		return record{}, err
	}
	rec := record{typ: hdr[0], version: binary.BigEndian.Uint16(hdr[1:3])}
	if rec.typ < recordChangeCipherSpec || rec.typ > recordApplicationData {
		return record{}, fmt.Errorf("%w: record type %d (not a TLS server?)", ErrMalformed, hdr[0])
	}
	if hdr[1] != 3 {
		return record{}, fmt.Errorf("%w: record version 0x%04x", ErrMalformed, rec.version)
	}
	n := int(binary.BigEndian.Uint16(hdr[3:5]))
	if n == 0 || n > maxRecord {
		return record{}, fmt.Errorf("%w: record length %d", ErrMalformed, n)
	}
	rec.body = make([]byte, n)
	if _, err := io.ReadFull(r, rec.body); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return record{}, fmt.Errorf("%w: truncated record", ErrClosed)
		}
		if neterr.Classify(err) == neterr.Reset {
			return record{}, fmt.Errorf("%w: %w", ErrClosed, err)
		}
		return record{}, err
	}
	return rec, nil
}

// AlertError is a TLS alert sent by the server.
type AlertError struct {
	Level       byte
	Description byte
}

func (a *AlertError) Error() string {
	return fmt.Sprintf("server sent alert %s (%d)", alertName(a.Description), a.Description)
}

func alertName(d byte) string {
	switch d {
	case 0:
		return "close_notify"
	case 10:
		return "unexpected_message"
	case 40:
		return "handshake_failure"
	case 47:
		return "illegal_parameter"
	case 50:
		return "decode_error"
	case 70:
		return "protocol_version"
	case 71:
		return "insufficient_security"
	case 80:
		return "internal_error"
	case 86:
		return "inappropriate_fallback"
	case 109:
		return "missing_extension"
	case 112:
		return "unrecognized_name"
	}
	return "alert"
}

// handshakeMsg is one handshake message.
type handshakeMsg struct {
	typ  byte
	body []byte
}

// handshakeReader reassembles handshake messages across records.
type handshakeReader struct {
	r     io.Reader
	buf   []byte
	total int
}

// next returns the next handshake message. Alerts become *AlertError.
func (h *handshakeReader) next() (handshakeMsg, error) {
	for {
		if len(h.buf) >= 4 {
			n := int(h.buf[1])<<16 | int(h.buf[2])<<8 | int(h.buf[3])
			if n > maxFlight {
				return handshakeMsg{}, fmt.Errorf("%w: handshake message of %d bytes", ErrMalformed, n)
			}
			if len(h.buf) >= 4+n {
				m := handshakeMsg{typ: h.buf[0], body: h.buf[4 : 4+n]}
				h.buf = h.buf[4+n:]
				return m, nil
			}
		}
		rec, err := readRecord(h.r)
		if err != nil {
			return handshakeMsg{}, err
		}
		switch rec.typ {
		case recordAlert:
			if len(rec.body) < 2 {
				return handshakeMsg{}, fmt.Errorf("%w: short alert", ErrMalformed)
			}
			return handshakeMsg{}, &AlertError{Level: rec.body[0], Description: rec.body[1]}
		case recordHandshake:
			h.total += len(rec.body)
			if h.total > maxFlight {
				return handshakeMsg{}, fmt.Errorf("%w: server flight larger than %d bytes", ErrMalformed, maxFlight)
			}
			h.buf = append(h.buf, rec.body...)
		case recordChangeCipherSpec:
			// TLS 1.3 middlebox compatibility; ignore.
		default:
			return handshakeMsg{}, fmt.Errorf("%w: unexpected record type %d during handshake", ErrMalformed, rec.typ)
		}
	}
}

// ServerHello is the parsed ServerHello (or HelloRetryRequest).
type ServerHello struct {
	// Version is the negotiated version: supported_versions when present,
	// legacy_version otherwise.
	Version     Version
	CipherSuite uint16
	// HelloRetry is set for a TLS 1.3 HelloRetryRequest.
	HelloRetry bool
	// Group is the key_share group (TLS 1.3), or 0.
	Group uint16
	// Compression is the compression method; anything but 0 is a finding.
	Compression byte
	// Extensions lists the extension types, in order.
	Extensions []uint16
}

// keyExchange is what a ServerKeyExchange revealed.
type keyExchange struct {
	dhBits int    // prime size of a DHE group
	curve  uint16 // named curve of ECDHE
}
