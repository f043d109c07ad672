package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/forward"
	"github.com/hardgate/hardgate/internal/gateway/queue"
)

// forwarding is the running dispatcher, if any. A nil *forwarding (kind
// none) is valid and stops immediately.
type forwarding struct {
	fwd    forward.Forwarder
	cancel context.CancelFunc
	done   chan error
}

func startForwarding(cfg config.Config, q *queue.Queue, logger *slog.Logger, reg prometheus.Registerer) (*forwarding, error) {
	f, err := forward.New(cfg.Forward, logger)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, nil
	}
	if c, ok := f.(prometheus.Collector); ok && reg != nil {
		// Broker connection metrics of the mqtt and nats forwarders.
		_ = reg.Register(c)
	}
	d := forward.NewDispatcher(q, f, forward.DispatchOptions{
		BackoffMin:  time.Duration(cfg.Forward.BackoffMin),
		BackoffMax:  time.Duration(cfg.Forward.BackoffMax),
		MaxInFlight: cfg.Forward.MaxInFlight,
		Logger:      logger,
		Registerer:  reg,
	})
	ctx, cancel := context.WithCancel(context.Background())
	fw := &forwarding{fwd: f, cancel: cancel, done: make(chan error, 1)}
	go func() { fw.done <- d.Run(ctx) }()
	logger.Info("forwarding", "upstream", f.Name())
	return fw, nil
}

// stop ends the dispatcher (batches in delivery are still acknowledged) and
// closes the forwarder.
func (fw *forwarding) stop(ctx context.Context) error {
	if fw == nil {
		return nil
	}
	fw.cancel()
	var runErr error
	select {
	case runErr = <-fw.done:
	case <-ctx.Done():
		runErr = fmt.Errorf("dispatcher did not stop: %w", ctx.Err())
	}
	return errors.Join(runErr, fw.fwd.Close())
}
