package serve

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	gwauth "github.com/hardgate/hardgate/internal/gateway/auth"
)

// Roles of dashboard users.
const (
	// RoleViewer reads the dashboard and /metrics.
	RoleViewer = "viewer"
	// RoleOperator may also start audits and change baselines.
	RoleOperator = "operator"
)

// TokenPrefix starts every dashboard token.
const TokenPrefix = "hgs_"

// maxTokensFileBytes caps a tokens file.
const maxTokensFileBytes = 1 << 20

// user is who made a request.
type user struct {
	Name string
	Role string
}

func (u user) can(role string) bool {
	return u.Role == RoleOperator || role == RoleViewer && u.Role == RoleViewer
}

// validName is the shape of a token's name (who it belongs to).
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// tokens maps the stored hash of each token to its user. Tokens are stored
// as "$sha256$..." digests, as ingestd stores device tokens: a token holds
// 256 random bits, so its digest can neither be reversed nor guessed.
type tokens map[string]user

// parseTokens reads a tokens file: one "<role> <name> <hash>" per line;
// blank lines and # comments are ignored.
func parseTokens(r io.Reader) (tokens, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxTokensFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxTokensFileBytes {
		return nil, fmt.Errorf("tokens file is larger than %d bytes", maxTokensFileBytes)
	}
	out := tokens{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), maxTokensFileBytes)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		if len(f) != 3 {
			return nil, fmt.Errorf("tokens line %d: want \"<role> <name> <hash>\", got %d fields", line, len(f))
		}
		if f[0] != RoleViewer && f[0] != RoleOperator {
			return nil, fmt.Errorf("tokens line %d: role %q must be viewer or operator", line, f[0])
		}
		if !validName.MatchString(f[1]) {
			return nil, fmt.Errorf("tokens line %d: name %q: use 1-64 letters, digits and . _ @ -", line, f[1])
		}
		if !strings.HasPrefix(f[2], "$sha256$") || len(f[2]) != len(gwauth.HashToken("")) {
			return nil, fmt.Errorf("tokens line %d: %q is not a $sha256$ token hash (hardgate serve token add writes them)", line, f[2])
		}
		if _, dup := out[f[2]]; dup {
			return nil, fmt.Errorf("tokens line %d: the same token is listed twice", line)
		}
		out[f[2]] = user{Name: f[1], Role: f[0]}
	}
	return out, sc.Err()
}

// loadTokens reads the tokens file at path, which must not be readable by
// group or others.
func loadTokens(path string) (tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth.tokens_file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("auth.tokens_file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("auth.tokens_file: %s has mode %04o; it must not be readable by group or others (chmod 600)", path, fi.Mode().Perm())
	}
	t, err := parseTokens(f)
	if err != nil {
		return nil, fmt.Errorf("auth.tokens_file %s: %w", path, err)
	}
	return t, nil
}

// lookup returns the user of a presented token.
func (t tokens) lookup(token string) (user, bool) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 256 {
		return user{}, false
	}
	u, ok := t[gwauth.HashToken(token)]
	return u, ok
}

// AddToken creates a token for name with role, appends its hash to the
// tokens file (created 0600 when missing; rewritten through a temporary
// file and a rename) and returns the token, which is shown only once.
func AddToken(path, role, name string) (string, error) {
	if role != RoleViewer && role != RoleOperator {
		return "", fmt.Errorf("role %q: must be viewer or operator", role)
	}
	if !validName.MatchString(name) {
		return "", fmt.Errorf("name %q: use 1-64 letters, digits and . _ @ -", name)
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if _, err := parseTokens(bytes.NewReader(old)); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	token := TokenPrefix + randomString(32)
	line := fmt.Sprintf("%s %s %s\n", role, name, gwauth.HashToken(token))
	if len(old) > 0 && !bytes.HasSuffix(old, []byte("\n")) {
		old = append(old, '\n')
	}
	if err := writePrivate(path, append(old, line...)); err != nil {
		return "", err
	}
	return token, nil
}

// writePrivate replaces path with data, mode 0600, through a temporary
// file in the same folder and a rename (never through a symlink at path).
func writePrivate(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tokens-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
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
	return os.Rename(tmp.Name(), path)
}

// randomString is n random bytes, base64url.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionTTL is how long a dashboard login lasts.
const sessionTTL = 12 * time.Hour

// session is a logged-in browser.
type session struct {
	user    user
	csrf    string
	expires time.Time
}

// sessions are the dashboard's logins, in memory: a restart logs everyone
// out.
type sessions struct {
	mu  sync.Mutex
	m   map[string]session
	now func() time.Time
}

func (s *sessions) create(u user) (id string, sess session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, v := range s.m {
		if now.After(v.expires) {
			delete(s.m, k)
		}
	}
	id = randomString(32)
	sess = session{user: u, csrf: randomString(32), expires: now.Add(sessionTTL)}
	s.m[id] = sess
	return id, sess
}

func (s *sessions) get(id string) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[id]
	if !ok || s.now().After(sess.expires) {
		delete(s.m, id)
		return session{}, false
	}
	return sess, true
}

func (s *sessions) drop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// sameSecret compares two secrets in constant time.
func sameSecret(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// CheckTokensFile reads the tokens file as serve would (mode 0600, every
// line well formed).
func CheckTokensFile(path string) error {
	_, err := loadTokens(path)
	return err
}
