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
	"strings"
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
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", EncodingIdentity:
	case EncodingGzip, "x-gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			if isReadLimit(err) {
				return Result{}, fmt.Errorf("read body: %w", err)
			}
			return Result{}, &Error{Problem: "body is not a valid gzip stream: " + err.Error()}
		}
		defer zr.Close()
		r = zr
	default:
		return Result{}, fmt.Errorf("%w %q: use gzip or none", ErrUnsupportedEncoding, encoding)
	}
	data, err := readCapped(r, maxBytes)
	if err != nil {
		return Result{}, err
	}
	return ParseBytes(data)
}

// isReadLimit reports whether err came from the reader rather than from the
// gzip format: anything that is not a gzip format error.
func isReadLimit(err error) bool {
	return !errors.Is(err, gzip.ErrHeader) && !errors.Is(err, gzip.ErrChecksum) &&
		!errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF)
}

func readCapped(r io.Reader, maxBytes int64) ([]byte, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, maxBytes+1))
	if err != nil {
		switch {
		case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader):
			return nil, &Error{Problem: "body is not a valid gzip stream: " + err.Error()}
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, &Error{Problem: "gzip stream is truncated"}
		}
		return nil, fmt.Errorf("read body: %w", err)
	}
	if n > maxBytes {
		return nil, ErrTooLarge
	}
	return buf.Bytes(), nil
}

// ParseBytes validates an uncompressed body and normalises it to NDJSON.
func ParseBytes(data []byte) (Result, error) {
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
