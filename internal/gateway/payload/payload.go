// Package payload reads the body of an ingest request from an untrusted
// device: a single JSON object, a JSON array of objects, or NDJSON (one object
// per line), optionally gzip-compressed. It validates every record, reports
// the first problem with its position, enforces the size cap after
// decompression, and normalises the records to compact NDJSON, the form the
// durable queue stores.
package payload

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Content encodings Parse understands.
const (
	EncodingIdentity = "identity"
	EncodingGzip     = "gzip"
)

// ErrTooLarge is returned when the (decompressed) body exceeds the cap.
var ErrTooLarge = errors.New("payload exceeds the size limit")

// ErrUnsupportedEncoding is returned for a Content-Encoding other than
// identity or gzip.
var ErrUnsupportedEncoding = errors.New("unsupported content encoding")

// Error is a validation problem in the body, with its position. Line and
// Column are 1-based and count bytes of the decompressed body; Record is the
// 1-based record the problem belongs to, 0 when it is not inside a record.
type Error struct {
	Problem string
	Offset  int64
	Line    int
	Column  int
	Record  int
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Problem)
	if e.Line > 0 {
		fmt.Fprintf(&b, " at line %d, column %d (byte offset %d)", e.Line, e.Column, e.Offset)
	}
	if e.Record > 0 {
		fmt.Fprintf(&b, " in record %d", e.Record)
	}
	return b.String()
}

// Result is a parsed body.
type Result struct {
	// NDJSON holds one compact JSON object per line, each line ending in '\n'.
	NDJSON []byte
	// Records is the number of lines in NDJSON.
	Records int
}

// Parse reads the body from r, decompressing it first when encoding is gzip,
// and returns the records as NDJSON. maxBytes caps the decompressed size; a
// larger body yields ErrTooLarge. A malformed body yields an *Error. Read
// errors from r are returned wrapped, so a caller can detect its own limits
// (http.MaxBytesError) with errors.As.
func Parse(r io.Reader, encoding string, maxBytes int64) (Result, error) {
	return ParseInto(nil, r, encoding, maxBytes, -1)
}

// ParseInto is Parse reading into buf (its length is ignored, its capacity
// reused), for callers that pool their buffers. sizeHint is the expected
// size of the body as sent (Content-Length), or -1. Result.NDJSON shares
// buf's array when it fits, so the caller may reuse Result.NDJSON[:0] as
// the next buf once it is done with the result.
func ParseInto(buf []byte, r io.Reader, encoding string, maxBytes, sizeHint int64) (Result, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", EncodingIdentity:
	case EncodingGzip, "x-gzip":
		zr, err := newGzipReader(r)
		if err != nil {
			if isReadLimit(err) {
				return Result{}, fmt.Errorf("read body: %w", err)
			}
			return Result{}, &Error{Problem: "body is not a valid gzip stream: " + err.Error()}
		}
		defer gzipPool.Put(zr)
		r = zr
		sizeHint = -1 // the compressed size says little about the rest
	default:
		return Result{}, fmt.Errorf("%w %q: use gzip or none", ErrUnsupportedEncoding, encoding)
	}
	data, err := readCapped(buf[:0], r, maxBytes, sizeHint)
	if err != nil {
		return Result{}, err
	}
	return parseOwned(data)
}

// gzipPool keeps gzip readers (about 40 KiB of state each) between bodies.
var gzipPool sync.Pool

func newGzipReader(r io.Reader) (*gzip.Reader, error) {
	if zr, ok := gzipPool.Get().(*gzip.Reader); ok {
		if err := zr.Reset(r); err != nil {
			gzipPool.Put(zr)
			return nil, err
		}
		return zr, nil
	}
	return gzip.NewReader(r)
}

// isReadLimit reports whether err came from the reader rather than from the
// gzip format: anything that is not a gzip format error.
func isReadLimit(err error) bool {
	return !errors.Is(err, gzip.ErrHeader) && !errors.Is(err, gzip.ErrChecksum) &&
		!errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF)
}

// readCapped appends r's bytes to buf until EOF; more than maxBytes is
// ErrTooLarge. With sizeHint (>= 0, at most maxBytes) buf is made to hold
// that many bytes and one more, for the final newline, in one allocation.
func readCapped(buf []byte, r io.Reader, maxBytes, sizeHint int64) ([]byte, error) {
	if sizeHint >= 0 && sizeHint <= maxBytes && int64(cap(buf)) < sizeHint+1 {
		buf = make([]byte, 0, sizeHint+1)
	}
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, int(min(max(512, int64(cap(buf))), maxBytes+1-int64(len(buf))+1)))
		}
		room := buf[len(buf):cap(buf)]
		if left := maxBytes + 1 - int64(len(buf)); int64(len(room)) > left {
			room = room[:left]
		}
		n, err := r.Read(room)
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > maxBytes {
			return nil, ErrTooLarge
		}
		switch {
		case err == io.EOF:
			return buf, nil
		case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader):
			return nil, &Error{Problem: "body is not a valid gzip stream: " + err.Error()}
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, &Error{Problem: "gzip stream is truncated"}
		case err != nil:
			return nil, fmt.Errorf("read body: %w", err)
		}
	}
}

// ParseBytes validates an uncompressed body and normalises it to NDJSON.
// data is not modified.
func ParseBytes(data []byte) (Result, error) {
	return parseOwned(append(make([]byte, 0, len(data)+1), data...))
}

// parseOwned validates data and normalises it, in place when it can (data
// belongs to the caller no more).
func parseOwned(data []byte) (Result, error) {
	if sc, ok := scanBody(data); ok {
		if sc.normal {
			if data[len(data)-1] != '\n' {
				data = append(data, '\n')
			}
			return Result{NDJSON: data, Records: sc.records}, nil
		}
		return Result{NDJSON: compactInPlace(data, sc.array), Records: sc.records}, nil
	}
	p := parser{data: data}
	return p.parse()
}

type parser struct {
	data []byte
	out  bytes.Buffer
	n    int
}

func (p *parser) errAt(offset int64, record int, problem string) *Error {
	line, col := position(p.data, offset)
	return &Error{Problem: problem, Offset: offset, Line: line, Column: col, Record: record}
}

func (p *parser) parse() (Result, error) {
	if !utf8.Valid(p.data) {
		off := invalidUTF8Offset(p.data)
		return Result{}, p.errAt(off, 0, "body is not valid UTF-8")
	}
	start := skipSpace(p.data, 0)
	if start == len(p.data) {
		return Result{}, &Error{Problem: "body is empty; send a JSON object, an array of objects or NDJSON"}
	}
	p.out.Grow(len(p.data) + 1)
	// Fast path for the common case, a single object: Compact validates
	// the whole body in one pass. Anything else (an array, NDJSON, an
	// error whose position must be found) takes the record-by-record path.
	if p.data[start] == '{' {
		if err := json.Compact(&p.out, p.data); err == nil {
			p.out.WriteByte('\n')
			return Result{NDJSON: p.out.Bytes(), Records: 1}, nil
		}
		p.out.Reset()
	}
	var err error
	switch p.data[start] {
	case '[':
		err = p.parseArray(start)
	case '{':
		err = p.parseStream()
	default:
		err = p.errAt(int64(start), 0, "body must start with '{' (a JSON object or NDJSON) or '[' (an array of objects)")
	}
	if err != nil {
		return Result{}, err
	}
	return Result{NDJSON: p.out.Bytes(), Records: p.n}, nil
}

// parseStream reads one object or several objects separated by newlines.
func (p *parser) parseStream() error {
	dec := json.NewDecoder(bytes.NewReader(p.data))
	prevEnd := -1
	for {
		next := skipSpace(p.data, max(prevEnd, 0))
		if next == len(p.data) {
			return nil
		}
		if prevEnd >= 0 && bytes.IndexByte(p.data[prevEnd:next], '\n') < 0 {
			return p.errAt(int64(next), p.n+1, "records must be separated by a newline (NDJSON)")
		}
		if p.data[next] != '{' {
			return p.errAt(int64(next), p.n+1, "each record must be a JSON object")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return p.decodeErr(err, p.n+1)
		}
		if err := p.emit(raw); err != nil {
			return err
		}
		prevEnd = int(dec.InputOffset())
	}
}

// parseArray reads a JSON array of objects.
func (p *parser) parseArray(start int) error {
	dec := json.NewDecoder(bytes.NewReader(p.data))
	if _, err := dec.Token(); err != nil { // '['
		return p.decodeErr(err, 0)
	}
	for dec.More() {
		at := skipSpace(p.data, int(dec.InputOffset()))
		if at < len(p.data) && p.data[at] == ',' {
			at = skipSpace(p.data, at+1)
		}
		if at < len(p.data) && p.data[at] != '{' {
			return p.errAt(int64(at), p.n+1, "each element of the array must be a JSON object")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return p.decodeErr(err, p.n+1)
		}
		if err := p.emit(raw); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // ']'
		return p.decodeErr(err, 0)
	}
	end := int(dec.InputOffset())
	if rest := skipSpace(p.data, end); rest != len(p.data) {
		return p.errAt(int64(rest), 0, "unexpected data after the array")
	}
	if p.n == 0 {
		return p.errAt(int64(start), 0, "the array holds no records")
	}
	return nil
}

func (p *parser) emit(raw json.RawMessage) error {
	if err := json.Compact(&p.out, raw); err != nil {
		return fmt.Errorf("compact record: %w", err)
	}
	p.out.WriteByte('\n')
	p.n++
	return nil
}

func (p *parser) decodeErr(err error, record int) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		// Offset counts the bytes read including the offending one.
		return p.errAt(max(syn.Offset-1, 0), record, "invalid JSON: "+syn.Error())
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return p.errAt(int64(len(p.data)), record, "invalid JSON: unexpected end of body")
	}
	return p.errAt(int64(len(p.data)), record, "invalid JSON: "+err.Error())
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// position returns the 1-based line and column (in bytes) of offset.
func position(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	if offset < 0 {
		offset = 0
	}
	before := data[:offset]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

func invalidUTF8Offset(data []byte) int64 {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return int64(i)
		}
		i += size
	}
	return int64(len(data))
}
