package mqtt

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hardgate/hardgate/internal/result"
)

// subscribeAndListen subscribes to "#" and "$SYS/#", publishes the
// session's own marker, has a second connection publish its marker (the
// cross-client test) and counts what arrives within ListenFor.
func (p *prober) subscribeAndListen(ctx context.Context, s *session, as string) {
	r := &p.res
	probeTopic := p.markerTopic(s)
	for i, sub := range []*Subscription{&r.Wildcard, &r.Sys} {
		filter := "#"
		if i == 1 {
			filter = "$SYS/#"
		}
		sub.As = as
		sub.Exchange = result.MQTTExchange{Broker: p.t.broker, Action: "subscribe", Topic: filter}
		if as != "anonymous" {
			sub.Exchange.Username = as
		}
		code, err := s.subscribe(ctx, uint16(i+1), filter, p.spec.StepTimeout)
		sub.ReasonCode = code
		switch {
		case err != nil:
			sub.Outcome, sub.Detail = Failed, err.Error()
		case code < 0x80:
			sub.Outcome, sub.Detail = Accepted, fmt.Sprintf("granted QoS %d", code)
		default:
			sub.Outcome, sub.Detail = Refused, subackText(p.t.version, code)
		}
		sub.Exchange.ReasonCode, sub.Exchange.Outcome = code, string(sub.Outcome)
		if err != nil {
			sub.Exchange.Error = err.Error()
		}
		p.record(&sub.Step)
		if err != nil {
			// The session is unusable; the other subscription cannot run either.
			if i == 0 {
				r.Sys.Outcome, r.Sys.Detail, r.Sys.As = Failed, "session failed during SUBSCRIBE #: "+err.Error(), as
				r.Sys.Exchange = result.MQTTExchange{Broker: p.t.broker, Action: "subscribe", Topic: "$SYS/#", Outcome: string(Failed), Error: r.Sys.Detail}
				p.record(&r.Sys.Step)
			}
			return
		}
	}
	if r.Wildcard.Outcome == Accepted {
		if err := s.publish(ctx, probeTopic, p.marker(s.clientID), p.spec.StepTimeout); err != nil {
			p.log.Debug("mqtt probe marker publish failed", "err", err)
		}
		p.crossClient(ctx, as)
	}
	err := s.listen(ctx, p.spec.ListenFor)
	for i, sub := range []*Subscription{&r.Wildcard, &r.Sys} {
		var topics []string
		for topic, n := range s.received {
			isSys := strings.HasPrefix(topic, "$")
			if (i == 1) != isSys {
				continue
			}
			if topic == probeTopic {
				sub.ProbeMessageSeen = true
				sub.Messages += n
				continue
			}
			if topic == r.CrossClient.Topic && topic != "" {
				r.CrossClient.Seen = true
				sub.Messages += n
				continue
			}
			sub.Messages += n
			sub.Foreign += n
			topics = append(topics, topic)
		}
		slices.Sort(topics)
		if len(topics) > maxTopicsKept {
			topics = topics[:maxTopicsKept]
		}
		sub.Topics = topics
		if sub.Outcome != Accepted {
			continue
		}
		ex := result.MQTTExchange{Broker: p.t.broker, Action: "receive", Topic: sub.Exchange.Topic, Username: sub.Exchange.Username, Outcome: fmt.Sprintf("%d messages in %s", sub.Messages, p.spec.ListenFor)}
		if err != nil {
			ex.Error = err.Error()
		}
		p.res.Exchanges = append(p.res.Exchanges, ex)
	}
}
