package forward

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/config"
)

// New builds the forwarder that cfg.Kind names. The MQTT and NATS
// forwarders wait at most cfg.BackoffMax (and never more than 10 s) between
// two connection attempts. Kind "none" or "" returns
// (nil, nil): batches stay in the queue and no dispatcher should run.
func New(cfg config.Forward, logger *slog.Logger) (Forwarder, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("upstream", cfg.Kind)
	switch cfg.Kind {
	case "", "none":
		return nil, nil
	case "http":
		f, err := NewHTTP(cfg.HTTP, logger)
		if err != nil {
			return nil, err // never a typed nil inside the interface
		}
		return f, nil
	case "file":
		f, err := NewFile(cfg.File, logger)
		if err != nil {
			return nil, err
		}
		return f, nil
	case "mqtt":
		f, err := NewMQTT(cfg.MQTT, logger, reconnectCeiling(time.Duration(cfg.BackoffMax)))
		if err != nil {
			return nil, err
		}
		return f, nil
	case "nats":
		f, err := NewNATS(cfg.NATS, logger, reconnectCeiling(time.Duration(cfg.BackoffMax)))
		if err != nil {
			return nil, err
		}
		return f, nil
	default:
		return nil, fmt.Errorf("forward.kind: unknown kind %q; known: none, http, file, mqtt, nats", cfg.Kind)
	}
}
