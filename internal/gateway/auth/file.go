package auth

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// MaxFileBytes caps the size of a tokens file: 100,000 tokens take about
// 15 MB.
const MaxFileBytes = 64 << 20

// Record is one line of the tokens file:
//
//	<device> <token id> <hash> [created=<RFC 3339>] [expires=<RFC 3339>]
//
// Lines written before created/expires existed have three fields and stay valid.
type Record struct {
	// Device is the device the token authenticates.
	Device string
	// ID is the public token id (the middle part of the token).
	ID string
	// Hash is the stored form of the token: "$sha256$..." for tokens made by
	// ingestd, or a legacy salted argon2id or bcrypt hash.
	Hash string
	// Created is when the token was made; zero when unknown (legacy lines).
	Created time.Time
	// Expires is when the token stops working; zero is never.
	Expires time.Time
}

// ExpiredAt reports whether the token is refused at now.
func (r Record) ExpiredAt(now time.Time) bool {
	return !r.Expires.IsZero() && !now.Before(r.Expires)
}

// validDeviceByte reports the characters allowed in a device id.
func validDeviceByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == ':' || c == '@' || c == '-'
}

// ValidDevice reports whether id is an acceptable device id: 1-128 letters,
// digits and . _ : @ -, starting with a letter or digit.
func ValidDevice(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	if c := id[0]; c == '.' || c == '_' || c == ':' || c == '@' || c == '-' {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !validDeviceByte(id[i]) {
			return false
		}
	}
	return true
}

// validTokenID reports whether id is 8-64 base64url characters.
func validTokenID(id string) bool {
	if len(id) < 8 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !isBase64URL(id[i]) {
			return false
		}
	}
	return true
}

func isBase64URL(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// ParseFile reads a tokens file. Blank lines and lines starting with # are
// ignored; any other malformed line is an error naming its line number.
func ParseFile(r io.Reader) ([]Record, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("tokens file is larger than %d bytes", MaxFileBytes)
	}
	recs := make([]Record, 0, bytes.Count(data, []byte{'\n'})+1)
	seen := make(map[string]int, cap(recs))
	var fields []string
	for line := 1; len(data) > 0; line++ {
		var text []byte
		text, data, _ = bytes.Cut(data, []byte{'\n'})
		text = bytes.TrimSpace(text)
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		fields = strings.Fields(string(text))
		rec, err := parseRecord(fields)
		if err != nil {
			return nil, fmt.Errorf("tokens line %d: %w", line, err)
		}
		if prev, dup := seen[rec.ID]; dup {
			return nil, fmt.Errorf("tokens line %d: token id %q already used on line %d", line, rec.ID, prev)
		}
		seen[rec.ID] = line
		recs = append(recs, rec)
	}
	return recs, nil
}

func parseRecord(f []string) (Record, error) {
	if len(f) < 3 || len(f) > 5 {
		return Record{}, fmt.Errorf("want \"<device> <token id> <hash> [created=TIME] [expires=TIME]\", got %d fields", len(f))
	}
	rec := Record{Device: f[0], ID: f[1], Hash: f[2]}
	if !ValidDevice(rec.Device) {
		return Record{}, fmt.Errorf("invalid device id %q", rec.Device)
	}
	if !validTokenID(rec.ID) {
		return Record{}, fmt.Errorf("invalid token id %q", rec.ID)
	}
	if _, err := parseHash(rec.Hash); err != nil {
		return Record{}, err
	}
	for _, kv := range f[3:] {
		k, v, _ := strings.Cut(kv, "=")
		var dst *time.Time
		switch k {
		case "created":
			dst = &rec.Created
		case "expires":
			dst = &rec.Expires
		default:
			return Record{}, fmt.Errorf("unknown attribute %q: want created= or expires=", k)
		}
		if !dst.IsZero() {
			return Record{}, fmt.Errorf("attribute %q given twice", k)
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return Record{}, fmt.Errorf("%s: want an RFC 3339 time such as 2027-01-31T00:00:00Z, got %q", k, v)
		}
		*dst = t.UTC()
	}
	return rec, nil
}

// ReadFile reads and parses the tokens file at path.
func ReadFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open tokens file: %w", err)
	}
	defer f.Close()
	recs, err := ParseFile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return recs, nil
}

const fileHeader = "# ingestd tokens: <device> <token id> <hash> [created=] [expires=]. Managed by \"ingestd token\"; mode 0600.\n"

// appendRecord appends rec as one line of the tokens file.
func appendRecord(b []byte, r Record) []byte {
	b = append(b, r.Device...)
	b = append(b, ' ')
	b = append(b, r.ID...)
	b = append(b, ' ')
	b = append(b, r.Hash...)
	if !r.Created.IsZero() {
		b = append(b, " created="...)
		b = r.Created.UTC().AppendFormat(b, time.RFC3339)
	}
	if !r.Expires.IsZero() {
		b = append(b, " expires="...)
		b = r.Expires.UTC().AppendFormat(b, time.RFC3339)
	}
	return append(b, '\n')
}

// WriteFile replaces the tokens file atomically with mode 0600.
func WriteFile(path string, recs []Record) error {
	b := make([]byte, 0, 64+len(recs)*160)
	b = append(b, fileHeader...)
	for _, r := range recs {
		b = appendRecord(b, r)
	}
	if err := writeAtomic(path, b); err != nil {
		return fmt.Errorf("write tokens file: %w", err)
	}
	return nil
}

// writeAtomic replaces path with data, mode 0600: it writes a temporary file
// in the same directory (os.CreateTemp, so never through a symlink), fsyncs
// it, renames it over path and fsyncs the directory.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := takeDirOwner(tmp, dir); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
