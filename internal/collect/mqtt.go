package collect

import (
	"context"
	"log/slog"
	"time"

	mqttprobe "github.com/hardgate/hardgate/internal/probe/mqtt"
	"github.com/hardgate/hardgate/internal/spec"
)

// collectMQTT probes every broker URL of the target, one after the other.
func collectMQTT(ctx context.Context, t *spec.Target, in *Inputs, auditID string, logger *slog.Logger) []MQTTObservation {
	s := t.MQTT
	if len(s.URLs) == 0 {
		return nil
	}
	version := mqttprobe.Version311
	if s.Version == "5" {
		version = mqttprobe.Version5
	}
	out := make([]MQTTObservation, len(s.URLs))
	for i, raw := range s.URLs {
		out[i].URL = raw
		spec := mqttprobe.Spec{
			URL: raw, Version: version, Username: s.Username, Password: in.MQTTPassword,
			RootCAs: in.Roots(mqttCAFile(t)), TopicPrefix: s.TopicPrefix, AuditID: auditID,
			StepTimeout: time.Duration(t.Timeouts.Request), ListenFor: time.Duration(s.ListenFor),
			PlaintextPort: s.PlaintextPort,
		}
		out[i].Result, out[i].Err = mqttprobe.Probe(ctx, spec, logger)
	}
	return out
}
