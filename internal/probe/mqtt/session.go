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

// session is one MQTT connection of the probe. Every exchange runs against
// one deadline, fixed when its step starts: packets the broker sends meanwhile
// (wanted or not) never move it. Cancelling the context unblocks it.
type session struct {
	conn    net.Conn
	rd      *bufio.Reader
	version byte
	// clientID is the client identifier the session connected with.
	clientID string
	// received counts PUBLISH packets by topic ("" for oversized ones).
	received map[string]int
}

// stepDeadline is the deadline of a step of length d that starts now,
// never after the context's own.
func stepDeadline(ctx context.Context, d time.Duration) time.Time {
	dl := time.Now().Add(d)
	if cd, ok := ctx.Deadline(); ok && cd.Before(dl) {
		return cd
	}
	return dl
}

func (s *session) close() {
	if s == nil {
		return
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = s.conn.Write(encodeDisconnect(s.version))
	_ = s.conn.Close()
}

func (s *session) write(ctx context.Context, b []byte, deadline time.Time) error {
	stop := context.AfterFunc(ctx, func() { _ = s.conn.SetDeadline(time.Now()) })
	defer stop()
	if err := s.conn.SetWriteDeadline(deadline); err != nil {
		return err
	}
	_, err := s.conn.Write(b)
	return err
}

// await reads packets until match accepts one or the deadline passes,
// counting every PUBLISH on the way. match returns done when the packet
// ends the wait, or an error that ends the step.
func (s *session) await(ctx context.Context, deadline time.Time, match func(f frame) (done bool, err error)) (frame, error) {
	stop := context.AfterFunc(ctx, func() { _ = s.conn.SetDeadline(time.Now()) })
	defer stop()
	if err := s.conn.SetReadDeadline(deadline); err != nil {
		return frame{}, err
	}
	for {
		f, err := readFrame(s.rd)
		if err != nil {
			return frame{}, readError(ctx, err)
		}
		if f.kind() == typePublish {
			if err := s.count(f); err != nil {
				return frame{}, err
			}
		}
		if f.kind() == typeDisconnect {
			return frame{}, errors.New("the broker sent DISCONNECT")
		}
		done, err := match(f)
		if err != nil {
			return frame{}, err
		}
		if done {
			return f, nil
		}
	}
}

// ofType matches the first packet of type want.
func ofType(want byte) func(f frame) (bool, error) {
	return func(f frame) (bool, error) { return f.kind() == want, nil }
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

// connect sends CONNECT and returns the CONNACK code, all before deadline.
func (s *session) connect(ctx context.Context, req connectRequest, deadline time.Time) (int, error) {
	b, err := encodeConnect(s.version, req)
	if err != nil {
		return 0, err
	}
	if err := s.write(ctx, b, deadline); err != nil {
		return 0, fmt.Errorf("send CONNECT: %w", err)
	}
	f, err := s.await(ctx, deadline, ofType(typeConnack))
	if err != nil {
		return 0, fmt.Errorf("await CONNACK: %w", err)
	}
	return decodeConnack(s.version, f)
}

// subscribe sends SUBSCRIBE for filter and returns the SUBACK code, all
// within one step of length d: SUBACKs for other packet ids are skipped
// without extending it.
func (s *session) subscribe(ctx context.Context, id uint16, filter string, d time.Duration) (int, error) {
	deadline := stepDeadline(ctx, d)
	b, err := encodeSubscribe(s.version, id, filter)
	if err != nil {
		return 0, err
	}
	if err := s.write(ctx, b, deadline); err != nil {
		return 0, fmt.Errorf("send SUBSCRIBE: %w", err)
	}
	code := 0
	_, err = s.await(ctx, deadline, func(f frame) (bool, error) {
		if f.kind() != typeSuback {
			return false, nil
		}
		got, c, err := decodeSuback(s.version, f)
		code = c
		return got == id, err
	})
	if err != nil {
		return 0, fmt.Errorf("await SUBACK: %w", err)
	}
	return code, nil
}

// publish sends one QoS 0 message.
func (s *session) publish(ctx context.Context, topic string, payload []byte, d time.Duration) error {
	return s.write(ctx, encodePublish(s.version, topic, payload), stepDeadline(ctx, d))
}

// listen counts PUBLISH packets for d. Reaching the end of d is success.
func (s *session) listen(ctx context.Context, d time.Duration) error {
	_, err := s.await(ctx, stepDeadline(ctx, d), func(frame) (bool, error) { return false, nil })
	if errors.Is(err, errNoAnswer) {
		return nil
	}
	return err
}
