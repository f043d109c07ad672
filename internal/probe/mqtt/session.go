package mqtt

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// maxTopicsTracked bounds the distinct topics counted during one listen.
const maxTopicsTracked = 1000

// session is one MQTT connection of the probe. Every read and write has a
// deadline; cancelling the context unblocks it.
type session struct {
	conn    net.Conn
	rd      *bufio.Reader
	version byte
	// received counts PUBLISH packets by topic ("" for oversized ones).
	received map[string]int
}

func (s *session) close() {
	if s == nil {
		return
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = s.conn.Write(encodeDisconnect(s.version))
	_ = s.conn.Close()
}

func (s *session) write(ctx context.Context, b []byte, d time.Duration) error {
	stop := context.AfterFunc(ctx, func() { _ = s.conn.SetDeadline(time.Now()) })
	defer stop()
	if err := s.conn.SetWriteDeadline(deadlineFor(ctx, d)); err != nil {
		return err
	}
	_, err := s.conn.Write(b)
	return err
}

// await reads packets until one of type want arrives, counting PUBLISH
// packets on the way.
func (s *session) await(ctx context.Context, want byte, d time.Duration) (frame, error) {
	stop := context.AfterFunc(ctx, func() { _ = s.conn.SetDeadline(time.Now()) })
	defer stop()
	if err := s.conn.SetReadDeadline(deadlineFor(ctx, d)); err != nil {
		return frame{}, err
	}
	for {
		f, err := readFrame(s.rd)
		if err != nil {
			return frame{}, readError(ctx, err)
		}
		switch f.kind() {
		case want:
			return f, nil
		case typePublish:
			if err := s.count(f); err != nil {
				return frame{}, err
			}
		case typeDisconnect:
			return frame{}, errors.New("the broker sent DISCONNECT")
		}
	}
}

func readError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errNoAnswer
	}
	return fmt.Errorf("read: %w", err)
}

func (s *session) count(f frame) error {
	topic, err := decodePublishTopic(f)
	if err != nil {
		return err
	}
	if _, ok := s.received[topic]; ok || len(s.received) < maxTopicsTracked {
		s.received[topic]++
	}
	return nil
}

// connect sends CONNECT and returns the CONNACK code.
func (s *session) connect(ctx context.Context, req connectRequest, d time.Duration) (int, error) {
	b, err := encodeConnect(s.version, req)
	if err != nil {
		return 0, err
	}
	if err := s.write(ctx, b, d); err != nil {
		return 0, fmt.Errorf("send CONNECT: %w", err)
	}
	f, err := s.await(ctx, typeConnack, d)
	if err != nil {
		return 0, fmt.Errorf("await CONNACK: %w", err)
	}
	return decodeConnack(s.version, f)
}

// subscribe sends SUBSCRIBE for filter and returns the SUBACK code.
func (s *session) subscribe(ctx context.Context, id uint16, filter string, d time.Duration) (int, error) {
	b, err := encodeSubscribe(s.version, id, filter)
	if err != nil {
		return 0, err
	}
	if err := s.write(ctx, b, d); err != nil {
		return 0, fmt.Errorf("send SUBSCRIBE: %w", err)
	}
	for {
		f, err := s.await(ctx, typeSuback, d)
		if err != nil {
			return 0, fmt.Errorf("await SUBACK: %w", err)
		}
		got, code, err := decodeSuback(s.version, f)
		if err != nil {
			return 0, err
		}
		if got == id {
			return code, nil
		}
	}
}

// publish sends one QoS 0 message.
func (s *session) publish(topic string, payload []byte, d time.Duration) error {
	return s.write(context.Background(), encodePublish(s.version, topic, payload), d)
}

// listen counts PUBLISH packets for d. Reaching the end of d is success.
func (s *session) listen(ctx context.Context, d time.Duration) error {
	_, err := s.await(ctx, 0xff, d) // no packet has type 0xff: read until the deadline
	if errors.Is(err, errNoAnswer) {
		return nil
	}
	return err
}
