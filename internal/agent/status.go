package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// SiteQueue is what the dashboard shows of a site's queue.
type SiteQueue struct {
	Site string
	// Waiting jobs no agent has taken yet.
	Waiting uint64
	// InFlight jobs taken and not yet acked.
	InFlight int
	// Redelivered jobs among those in flight that are on a later attempt.
	Redelivered int
	// Dead is how many dead letters the site has in the dead-letter stream.
	Dead uint64
}

// Queues reads each site's queue from its consumer and the dead-letter
// stream.
func Queues(ctx context.Context, js jetstream.JetStream, sites []string) ([]SiteQueue, error) {
	dead, err := js.Stream(ctx, DeadStream)
	if err != nil {
		return nil, errNotProvisioned("stream "+DeadStream, err)
	}
	out := make([]SiteQueue, 0, len(sites))
	for _, s := range sites {
		cons, err := js.Consumer(ctx, JobsStream, SiteConsumer(s))
		if err != nil {
			return nil, errNotProvisioned("consumer "+SiteConsumer(s), err)
		}
		ci, err := cons.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("consumer %s: %w", SiteConsumer(s), err)
		}
		q := SiteQueue{Site: s, Waiting: ci.NumPending, InFlight: ci.NumAckPending, Redelivered: ci.NumRedelivered}
		si, err := dead.Info(ctx, jetstream.WithSubjectFilter(DeadSubject(s)))
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", DeadStream, err)
		}
		q.Dead = si.State.Subjects[DeadSubject(s)]
		out = append(out, q)
	}
	return out, nil
}

// DeadLetters returns up to limit of the newest dead letters, newest first.
func DeadLetters(ctx context.Context, js jetstream.JetStream, limit int) ([]DeadLetter, error) {
	st, err := js.Stream(ctx, DeadStream)
	if err != nil {
		return nil, errNotProvisioned("stream "+DeadStream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", DeadStream, err)
	}
	var out []DeadLetter
	for seq := info.State.LastSeq; seq >= info.State.FirstSeq && seq > 0 && len(out) < limit; seq-- {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read dead letter %d: %w", seq, err)
		}
		d, err := DecodeDeadLetter(m.Data)
		if err != nil {
			continue
		}
		out = append(out, *d)
	}
	return out, nil
}
