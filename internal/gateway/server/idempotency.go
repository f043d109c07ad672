package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/hardgate/hardgate/internal/gateway/queue"
)

// Idempotency keys on POST /v1/ingest (docs/ingestd.md, "Idempotency
// keys"): a device names a request with Idempotency-Key; a retry of it
// with the same key and body, within store.idempotency_retention, answers
// 202 with the first request's receipt and stores nothing; the same key
// with another body is 409.
const (
	// HeaderIdempotencyKey names a request on POST /v1/ingest.
	HeaderIdempotencyKey = "Idempotency-Key"
	// headerReplayed is set to "true" on a 202 that answers with the
	// receipt of an earlier request under the same key.
	headerReplayed = "Idempotent-Replayed"
)

// idempotencyKey returns the request's Idempotency-Key, "" when it sent
// none. A key is 1 to 128 printable ASCII characters (space to tilde),
// sent once.
func idempotencyKey(h http.Header) (string, error) {
	values := h.Values(HeaderIdempotencyKey)
	switch len(values) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", errors.New("send one Idempotency-Key header")
	}
	key := values[0]
	if len(key) < 1 || len(key) > queue.MaxKeyLen {
		return "", fmt.Errorf("an Idempotency-Key is 1 to %d printable ASCII characters (got %d bytes)", queue.MaxKeyLen, len(key))
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c > 0x7e {
			return "", fmt.Errorf("an Idempotency-Key is 1 to %d printable ASCII characters (byte %d is 0x%02x)", queue.MaxKeyLen, i+1, c)
		}
	}
	return key, nil
}
