package mqtt

import (
	"bufio"
	"bytes"
	"testing"
)

func TestCodecRoundTrips(t *testing.T) {
	for _, v := range []byte{Version311, Version5} {
		b, err := encodeSubscribe(v, 7, "#")
		if err != nil {
			t.Fatal(err)
		}
		f, err := readFrame(bufio.NewReader(bytes.NewReader(b)))
		if err != nil || f.kind() != typeSubscribe {
			t.Fatalf("version %d: subscribe frame %v, %v", v, f, err)
		}
		pub := encodePublish(v, "hardgate/probe/x", []byte("{}"))
		f, err = readFrame(bufio.NewReader(bytes.NewReader(pub)))
		if err != nil {
			t.Fatal(err)
		}
		if topic, err := decodePublishTopic(f); err != nil || topic != "hardgate/probe/x" {
			t.Errorf("version %d: topic %q, %v", v, topic, err)
		}
	}
	tests := []struct {
		name    string
		version byte
		wire    []byte
		code    int
	}{
		{"an MQTT 3.1.1 CONNACK carries the return code", Version311, []byte{0x20, 2, 0, 5}, 5},
		{"an MQTT 5 CONNACK carries the reason code", Version5, []byte{0x20, 3, 0, 0x87, 0}, 0x87},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := readFrame(bufio.NewReader(bytes.NewReader(tc.wire)))
			if err != nil {
				t.Fatal(err)
			}
			code, err := decodeConnack(tc.version, f)
			if err != nil || code != tc.code {
				t.Errorf("code %d, %v; want %d", code, err, tc.code)
			}
		})
	}
	t.Run("an oversized non-PUBLISH packet is refused without buffering it", func(t *testing.T) {
		wire := appendVarInt([]byte{0x90}, maxFrameBytes+1)
		if _, err := readFrame(bufio.NewReader(bytes.NewReader(wire))); err == nil {
			t.Fatal("want an error")
		}
	})
	t.Run("a remaining length of five bytes is refused", func(t *testing.T) {
		if _, err := readFrame(bufio.NewReader(bytes.NewReader([]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}))); err == nil {
			t.Fatal("want an error")
		}
	})
}

// FuzzDecode feeds broker bytes to the decoders the probe uses on untrusted input.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0x20, 2, 0, 0})
	f.Add([]byte{0x20, 3, 0, 0x86, 0})
	f.Add([]byte{0x90, 3, 0, 1, 0})
	f.Add([]byte{0x90, 4, 0, 1, 0, 0x80})
	f.Add(encodePublish(Version311, "a/b", []byte("x")))
	f.Fuzz(func(t *testing.T, wire []byte) {
		rd := bufio.NewReader(bytes.NewReader(wire))
		for range 8 {
			fr, err := readFrame(rd)
			if err != nil {
				return
			}
			for _, v := range []byte{Version311, Version5} {
				_, _ = decodeConnack(v, fr)
				_, _, _ = decodeSuback(v, fr)
			}
			_, _ = decodePublishTopic(fr)
		}
	})
}
