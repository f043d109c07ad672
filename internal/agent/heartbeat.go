package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Heartbeat is what an agent puts into the heartbeat bucket under
// <site>.<agent>, renewed every third of the bucket's TTL; a stopped
// agent deletes it, a killed one expires.
type Heartbeat struct {
	Agent   string `json:"agent"`
	Site    string `json:"site"`
	Version string `json:"version"`
	// Parallel is the agent's bound on concurrent audits.
	Parallel int `json:"parallel"`
	// Running is how many audits it runs now (its load: Running/Parallel).
	Running int `json:"running"`
	// Done and Failed count jobs finished and attempts given up since start.
	Done      int64     `json:"done"`
	Failed    int64     `json:"failed"`
	StartedAt time.Time `json:"started_at"`
	At        time.Time `json:"at"`
}

// HeartbeatKey is the bucket key of an agent.
func HeartbeatKey(site, agent string) string { return site + "." + agent }

func (a *Agent) heartbeat() *Heartbeat {
	return &Heartbeat{Agent: a.Name, Site: a.Site, Version: a.Version, Parallel: a.Parallel,
		Running: int(a.running.Load()), Done: a.done.Load(), Failed: a.failed.Load(),
		StartedAt: a.started.UTC(), At: a.Audit.Now().UTC()}
}

// heartbeats puts the agent's heartbeat until ctx ends, then deletes it.
func (a *Agent) heartbeats(ctx context.Context, kv jetstream.KeyValue) {
	ttl := DefaultHeartbeatTTL
	if st, err := kv.Status(ctx); err == nil && st.TTL() > 0 {
		ttl = st.TTL()
	}
	tick := time.NewTicker(max(ttl/3, 100*time.Millisecond))
	defer tick.Stop()
	key := HeartbeatKey(a.Site, a.Name)
	for {
		data, _ := json.Marshal(a.heartbeat())
		if _, err := kv.Put(ctx, key, data); err != nil && ctx.Err() == nil {
			a.Logger.Warn("put heartbeat", "err", err)
		}
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			_ = kv.Delete(dctx, key)
			cancel()
			return
		case <-tick.C:
		}
	}
}

// Agents lists the live agents of the heartbeat bucket, by site and name.
func Agents(ctx context.Context, js jetstream.JetStream) ([]Heartbeat, error) {
	kv, err := js.KeyValue(ctx, AgentsBucket)
	if err != nil {
		return nil, errNotProvisioned("heartbeat bucket", err)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list heartbeats: %w", err)
	}
	var out []Heartbeat
	for key := range keys.Keys() {
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read heartbeat %s: %w", key, err)
		}
		var hb Heartbeat
		if err := json.Unmarshal(e.Value(), &hb); err != nil {
			continue // not ours to judge; the list shows what it can read
		}
		out = append(out, hb)
	}
	slices.SortFunc(out, func(x, y Heartbeat) int {
		return strings.Compare(HeartbeatKey(x.Site, x.Agent), HeartbeatKey(y.Site, y.Agent))
	})
	return out, nil
}
