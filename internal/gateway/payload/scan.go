package payload

// The fast path: one pass over the body that validates it as JSON without
// building anything (no tree, no reflection, no allocation) and tells
// whether it is already in the normal form the queue stores (compact
// records, one per line). A body in normal form is stored as it came, with
// a final newline added when it lacks one; any other valid body is
// compacted in place by a second, simpler pass. Whatever the fast path
// does not accept, valid or not, goes to the detailed parser (payload.go),
// which finds the problem and its position or, for what the fast path
// leaves to it (nesting deeper than maxScanDepth), accepts it. FuzzParse
// checks that both paths agree.

import "unicode/utf8"

// maxScanDepth is the deepest nesting the fast path follows; deeper bodies
// take the detailed parser (encoding/json allows 10,000 levels).
const maxScanDepth = 128

// scanned is what the fast path learned about a valid body.
type scanned struct {
	records int
	normal  bool // the body, plus a final '\n' when missing, is the NDJSON
	array   bool // the records are the elements of a top-level array
}

// scanBody validates data as an ingest body: one JSON object, NDJSON
// objects separated by newlines, or an array of at least one object. It
// reports false for anything else, and for valid bodies it leaves to the
// detailed parser.
func scanBody(data []byte) (scanned, bool) {
	s := scanner{data: data}
	s.ws()
	if s.i == len(data) {
		return scanned{}, false
	}
	res := scanned{normal: s.i == 0}
	if data[s.i] == '[' {
		res.array, res.normal = true, false
		return res, s.array(&res)
	}
	return res, s.stream(&res)
}

// stream scans objects separated by whitespace that holds a newline.
func (s *scanner) stream(res *scanned) bool {
	for {
		if !s.object() {
			return false
		}
		res.records++
		if !s.compact {
			res.normal = false
		}
		start := s.i
		newline := s.ws()
		switch sep := s.data[start:s.i]; {
		case s.i == len(s.data):
			if len(sep) > 1 || (len(sep) == 1 && sep[0] != '\n') {
				res.normal = false
			}
			return true
		case !newline:
			return false
		case len(sep) != 1:
			res.normal = false
		}
	}
}

// array scans '[' object (',' object)* ']' and trailing whitespace.
func (s *scanner) array(res *scanned) bool {
	s.i++ // '['
	for {
		s.ws()
		if !s.object() {
			return false
		}
		res.records++
		s.ws()
		if s.i == len(s.data) {
			return false
		}
		c := s.data[s.i]
		s.i++
		if c == ']' {
			s.ws()
			return s.i == len(s.data)
		}
		if c != ',' {
			return false
		}
	}
}

// scanner walks a body; compact is cleared by any whitespace inside a
// record.
type scanner struct {
	data    []byte
	i       int
	depth   int
	compact bool
	stack   [maxScanDepth]byte
}

// ws skips whitespace and reports whether it held a newline.
func (s *scanner) ws() (newline bool) {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case '\n':
			newline = true
		case ' ', '\t', '\r':
		default:
			return newline
		}
		s.i++
	}
	return newline
}

// inner skips whitespace inside a record, which makes it not compact.
func (s *scanner) inner() {
	start := s.i
	s.ws()
	if s.i != start {
		s.compact = false
	}
}

// object scans one JSON object at s.i.
func (s *scanner) object() bool {
	if s.i >= len(s.data) || s.data[s.i] != '{' {
		return false
	}
	if s.depth == 0 {
		s.compact = true
	}
	return s.value()
}

// value scans one JSON value at s.i, nested values included.
func (s *scanner) value() bool {
	for {
		if !s.one() {
			return false
		}
		// A value ended: close containers until one takes another element.
	closing:
		for {
			if s.depth == 0 {
				return true
			}
			s.inner()
			if s.i >= len(s.data) {
				return false
			}
			c, top := s.data[s.i], s.stack[s.depth-1]
			s.i++
			switch {
			case c == ',':
				s.inner()
				if top == '{' && !s.key() {
					return false
				}
				break closing
			case c == '}' && top == '{', c == ']' && top == '[':
				s.depth--
			default:
				return false
			}
		}
	}
}

// one scans a scalar, an empty container, or the opening of a container up
// to its first element (pushed on the stack).
func (s *scanner) one() bool {
	if s.i >= len(s.data) {
		return false
	}
	switch c := s.data[s.i]; {
	case c == '{' || c == '[':
		s.i++
		s.inner()
		if s.i < len(s.data) && s.data[s.i] == c+2 { // '}' or ']'
			s.i++
			return true
		}
		if s.depth == maxScanDepth {
			return false
		}
		s.stack[s.depth] = c
		s.depth++
		if c == '{' && !s.key() {
			return false
		}
		return s.one()
	case c == '"':
		return s.str()
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return false
}

// key scans a member name, the colon and the whitespace around it.
func (s *scanner) key() bool {
	if s.i >= len(s.data) || s.data[s.i] != '"' || !s.str() {
		return false
	}
	s.inner()
	if s.i >= len(s.data) || s.data[s.i] != ':' {
		return false
	}
	s.i++
	s.inner()
	return true
}

// plain marks the string bytes that need no attention: printable ASCII
// other than '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str scans a string: escapes as RFC 8259 defines them, no control
// character, and valid UTF-8.
func (s *scanner) str() bool {
	d := s.data
	i := s.i + 1
	for i < len(d) {
		c := d[i]
		if plain[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			s.i = i + 1
			return true
		case c == '\\':
			if i+1 >= len(d) {
				return false
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) || !isHex(d[i+5]) {
					return false
				}
				i += 6
			default:
				return false
			}
		case c < 0x20:
			return false
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size <= 1 {
				return false
			}
			i += size
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	d, i := s.data, s.i
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && isDigit(d[i]):
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || !isDigit(d[i]) {
			return false
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || !isDigit(d[i]) {
			return false
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	s.i = i
	return true
}

func (s *scanner) literal(lit string) bool {
	if len(s.data)-s.i < len(lit) || string(s.data[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// compactInPlace rewrites a body that scanBody accepted as NDJSON: it
// drops whitespace outside strings, the brackets and commas of a top-level
// array, and ends every record with '\n'. The output never overtakes the
// input, except for the newline after the last record, which may need one
// byte past the input (appended).
func compactInPlace(data []byte, array bool) []byte {
	w, depth, inStr, esc := 0, 0, false, false
	recordDepth := 0 // depth at which a record closes
	if array {
		recordDepth = 1
	}
	n := len(data)
	for r := 0; r < n; r++ {
		c := data[r]
		if inStr {
			data[w] = c
			w++
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inStr = true
		case '[', '{':
			depth++
			if array && depth == 1 {
				continue // the top-level '['
			}
		case ']', '}':
			depth--
			if array && depth == 0 {
				continue // the top-level ']'
			}
			if depth == recordDepth {
				data[w] = c
				w++
				// After a record comes whitespace, a comma or the closing
				// bracket (all dropped) or the end: the newline may take
				// the place of the next byte, never of one still to keep.
				if w < n {
					data[w] = '\n'
					w++
				} else {
					data = append(data[:w], '\n')
					w++
				}
				continue
			}
		case ',':
			if array && depth == 1 {
				continue
			}
		}
		data[w] = c
		w++
	}
	return data[:w]
}
