package mqtt

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/eclipse/paho.golang/packets"
)

// Protocol levels carried in CONNECT.
const (
	// Version311 is MQTT 3.1.1 (protocol level 4).
	Version311 = 4
	// Version5 is MQTT 5.0 (protocol level 5).
	Version5 = 5
)

// MQTT control packet types (the high nibble of the first byte).
const (
	typeConnect    = 1
	typeConnack    = 2
	typePublish    = 3
	typePuback     = 4
	typeSubscribe  = 8
	typeSuback     = 9
	typePingresp   = 13
	typeDisconnect = 14
)

// maxFrameBytes caps one packet read from a broker. A larger PUBLISH is
// skipped without being buffered; any other larger packet is an error.
const maxFrameBytes = 256 << 10

// errMalformed marks a packet the probe could not decode.
var errMalformed = errors.New("malformed MQTT packet")

// frame is one control packet as read from the wire.
type frame struct {
	header byte   // first byte: type and flags
	body   []byte // the remaining bytes (nil when oversized)
	// oversized is set when body exceeded maxFrameBytes and was skipped.
	oversized bool
}

func (f frame) kind() byte { return f.header >> 4 }

// readFrame reads one packet, never buffering more than maxFrameBytes.
func readFrame(r *bufio.Reader) (frame, error) {
	h, err := r.ReadByte()
	if err != nil {
		return frame{}, err
	}
	n, err := readVarInt(r)
	if err != nil {
		return frame{}, err
	}
	f := frame{header: h}
	if n > maxFrameBytes {
		if f.kind() != typePublish {
			return frame{}, fmt.Errorf("%w: packet type %d of %d bytes exceeds the %d byte cap", errMalformed, f.kind(), n, maxFrameBytes)
		}
		if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
			return frame{}, err
		}
		f.oversized = true
		return f, nil
	}
	f.body = make([]byte, n)
	if _, err := io.ReadFull(r, f.body); err != nil {
		return frame{}, err
	}
	return f, nil
}

// readVarInt decodes the MQTT variable byte integer (at most 4 bytes).
func readVarInt(r io.ByteReader) (int, error) {
	var v, mult int = 0, 1
	for i := 0; i < 4; i++ {
		b, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		v += int(b&0x7f) * mult
		if b&0x80 == 0 {
			return v, nil
		}
		mult *= 128
	}
	return 0, fmt.Errorf("%w: remaining length longer than 4 bytes", errMalformed)
}

func appendVarInt(b []byte, n int) []byte {
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func packet(header byte, body []byte) []byte {
	out := appendVarInt([]byte{header}, len(body))
	return append(out, body...)
}

// connectRequest is what the probe puts in a CONNECT.
type connectRequest struct {
	clientID string
	username string
	password string
	withUser bool
}

// encodeConnect writes a CONNECT with clean session/start, keep-alive 30 s
// and, for MQTT 5, a session expiry of 0. MQTT 5 uses paho.golang's packets.
func encodeConnect(version byte, c connectRequest) ([]byte, error) {
	if version == Version5 {
		p := &packets.Connect{
			ProtocolName:    "MQTT",
			ProtocolVersion: Version5,
			CleanStart:      true,
			KeepAlive:       30,
			ClientID:        c.clientID,
			Properties:      &packets.Properties{},
		}
		if c.withUser {
			p.UsernameFlag, p.Username = true, c.username
			p.PasswordFlag, p.Password = true, []byte(c.password)
		}
		var buf bytes.Buffer
		if _, err := p.WriteTo(&buf); err != nil {
			return nil, fmt.Errorf("encode connect: %w", err)
		}
		return buf.Bytes(), nil
	}
	body := appendString(nil, "MQTT")
	flags := byte(0x02) // clean session
	if c.withUser {
		flags |= 0x80 | 0x40
	}
	body = append(body, Version311, flags, 0, 30)
	body = appendString(body, c.clientID)
	if c.withUser {
		body = appendString(body, c.username)
		body = appendString(body, c.password)
	}
	return packet(typeConnect<<4, body), nil
}

// encodeSubscribe writes a SUBSCRIBE for one filter at QoS 0.
func encodeSubscribe(version byte, id uint16, filter string) ([]byte, error) {
	if version == Version5 {
		p := &packets.Subscribe{
			PacketID:      id,
			Properties:    &packets.Properties{},
			Subscriptions: []packets.SubOptions{{Topic: filter, QoS: 0}},
		}
		var buf bytes.Buffer
		if _, err := p.WriteTo(&buf); err != nil {
			return nil, fmt.Errorf("encode subscribe: %w", err)
		}
		return buf.Bytes(), nil
	}
	body := binary.BigEndian.AppendUint16(nil, id)
	body = appendString(body, filter)
	body = append(body, 0)
	return packet(typeSubscribe<<4|0x02, body), nil
}

// encodePublish writes a QoS 0, non-retained PUBLISH.
func encodePublish(version byte, topic string, payload []byte) []byte {
	body := appendString(nil, topic)
	if version == Version5 {
		body = append(body, 0) // no properties
	}
	body = append(body, payload...)
	return packet(typePublish<<4, body)
}

// encodeDisconnect writes a normal DISCONNECT.
func encodeDisconnect(version byte) []byte {
	if version == Version5 {
		return []byte{typeDisconnect << 4, 1, 0}
	}
	return []byte{typeDisconnect << 4, 0}
}

// decodeConnack returns the CONNACK return code (3.1.1) or reason code (5).
func decodeConnack(version byte, f frame) (int, error) {
	if f.kind() != typeConnack {
		return 0, fmt.Errorf("%w: expected CONNACK, got packet type %d", errMalformed, f.kind())
	}
	if version == Version5 {
		cp, err := packets.ReadPacket(bytes.NewReader(f.raw()))
		if err != nil {
			return 0, fmt.Errorf("%w: CONNACK: %v", errMalformed, err)
		}
		ca, ok := cp.Content.(*packets.Connack)
		if !ok {
			return 0, fmt.Errorf("%w: CONNACK did not decode", errMalformed)
		}
		return int(ca.ReasonCode), nil
	}
	if len(f.body) != 2 {
		return 0, fmt.Errorf("%w: CONNACK of %d bytes, want 2", errMalformed, len(f.body))
	}
	return int(f.body[1]), nil
}

// decodeSuback returns the packet id and the first granted QoS or failure code.
func decodeSuback(version byte, f frame) (uint16, int, error) {
	if f.kind() != typeSuback {
		return 0, 0, fmt.Errorf("%w: expected SUBACK, got packet type %d", errMalformed, f.kind())
	}
	if version == Version5 {
		cp, err := packets.ReadPacket(bytes.NewReader(f.raw()))
		if err != nil {
			return 0, 0, fmt.Errorf("%w: SUBACK: %v", errMalformed, err)
		}
		sa, ok := cp.Content.(*packets.Suback)
		if !ok || len(sa.Reasons) == 0 {
			return 0, 0, fmt.Errorf("%w: SUBACK without a reason code", errMalformed)
		}
		return sa.PacketID, int(sa.Reasons[0]), nil
	}
	if len(f.body) < 3 {
		return 0, 0, fmt.Errorf("%w: SUBACK of %d bytes", errMalformed, len(f.body))
	}
	return binary.BigEndian.Uint16(f.body), int(f.body[2]), nil
}

// decodePublishTopic returns the topic of a PUBLISH; the payload is ignored.
func decodePublishTopic(f frame) (string, error) {
	if f.kind() != typePublish {
		return "", fmt.Errorf("%w: expected PUBLISH, got packet type %d", errMalformed, f.kind())
	}
	if f.oversized {
		return "", nil
	}
	if len(f.body) < 2 {
		return "", fmt.Errorf("%w: PUBLISH of %d bytes", errMalformed, len(f.body))
	}
	n := int(binary.BigEndian.Uint16(f.body))
	if 2+n > len(f.body) {
		return "", fmt.Errorf("%w: PUBLISH topic length %d exceeds the packet", errMalformed, n)
	}
	return string(f.body[2 : 2+n]), nil
}

// raw re-encodes the frame for paho.golang's packet reader.
func (f frame) raw() []byte { return packet(f.header, f.body) }
