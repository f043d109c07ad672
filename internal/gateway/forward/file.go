package forward

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/config"
	"github.com/hardgate/hardgate/internal/gateway/queue"
)

// FileLine is one line written by the file sink: a record of a batch with
// the batch id and device, so that a reader can drop the duplicates that
// at-least-once delivery produces.
type FileLine struct {
	// BatchID is the queue id of the batch the record came from.
	BatchID string `json:"batch_id"`
	// Device is the device that sent the batch.
	Device string `json:"device"`
	// ReceivedAt is when ingestd accepted the batch.
	ReceivedAt time.Time `json:"received_at,omitzero"`
	// Record is the record, verbatim, when it is valid JSON.
	Record json.RawMessage `json:"record,omitempty"`
	// RecordText holds a line that is not valid JSON, so nothing is lost.
	RecordText string `json:"record_text,omitempty"`
}

// File appends each batch to a local file as NDJSON lines and fsyncs it
// before acknowledging.
type File struct {
	path string
	log  *slog.Logger

	mu sync.Mutex
	f  *os.File
}

var _ Forwarder = (*File)(nil)

// NewFile opens (creating with mode 0600) the sink file for appending.
func NewFile(cfg config.ForwardFile, logger *slog.Logger) (*File, error) {
	if cfg.Path == "" {
		return nil, errors.New("forward.file.path: required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	_, statErr := os.Stat(cfg.Path)
	f, err := os.OpenFile(cfg.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("forward.file.path: %w", err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// Make the new file's directory entry durable.
		if d, err := os.Open(filepath.Dir(cfg.Path)); err == nil {
			serr := d.Sync()
			_ = d.Close()
			if serr != nil {
				_ = f.Close()
				return nil, fmt.Errorf("forward.file.path: sync directory: %w", serr)
			}
		}
	}
	return &File{path: cfg.Path, log: logger, f: f}, nil
}

// Name implements Forwarder.
func (s *File) Name() string { return "file" }

// Deliver implements Forwarder: it writes one line per record and returns
// nil only after fsync. A failed write is truncated away so the file never
// keeps a partial batch.
func (s *File) Deliver(ctx context.Context, b queue.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	buf, err := fileLines(b)
	if err != nil {
		return fmt.Errorf("deliver %s to %s: %w", b.ID, s.path, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return fmt.Errorf("deliver %s to %s: %w", b.ID, s.path, os.ErrClosed)
	}
	fi, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("deliver %s to %s: %w", b.ID, s.path, err)
	}
	if _, err := s.f.Write(buf); err != nil {
		if terr := s.f.Truncate(fi.Size()); terr != nil {
			s.log.Error("file sink: could not remove a partial batch", "file", s.path, "batch", b.ID, "err", terr)
		}
		return fmt.Errorf("deliver %s to %s: %w", b.ID, s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("deliver %s to %s: fsync: %w", b.ID, s.path, err)
	}
	return nil
}

// fileLines renders a batch as sink lines.
func fileLines(b queue.Batch) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for line := range bytes.SplitSeq(b.Body, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		l := FileLine{BatchID: b.ID, Device: b.Device, ReceivedAt: b.ReceivedAt}
		if json.Valid(line) {
			l.Record = json.RawMessage(line)
		} else {
			l.RecordText = string(line)
		}
		if err := enc.Encode(l); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// Close implements Forwarder.
func (s *File) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	if err != nil {
		return fmt.Errorf("close %s: %w", s.path, err)
	}
	return nil
}
