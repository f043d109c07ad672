package result_test

import (
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/result"
)

// unescaped reports whether s holds c without a backslash before it.
func unescaped(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++ // skip the escaped byte
			continue
		}
		if s[i] == c {
			return true
		}
	}
	return false
}

func TestMarkdownTextNeutralisesMarkup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		markup   string // bytes that must not survive unescaped
	}{
		{"a link cannot be injected", "gw [click me](https://evil.example/)", "[]"},
		{"an image cannot be injected", "![x](https://evil.example/x.png)", "[]"},
		{"an autolink or raw HTML cannot be injected", "<https://evil.example/> <img src=x>", "<>"},
		{"a table cell cannot be split", "a | b", "|"},
		{"a line break cannot start a heading", "x\n# owned", "\n#"},
		{"emphasis and code do not render", "*a* _b_ `c`", "*_`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := result.MarkdownText(tt.in)
			for i := range len(tt.markup) {
				if unescaped(got, tt.markup[i]) {
					t.Errorf("MarkdownText(%q) = %q: %q is not escaped", tt.in, got, tt.markup[i])
				}
			}
		})
	}
}

func TestMarkdownCodeCannotBeClosedEarly(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain", "`plain`"},
		{"a`b", "``a`b``"},
		{"`edge", "`` `edge ``"},
		{"", "–"},
		{"two\nlines", "`two lines`"},
	}
	for _, tt := range tests {
		if got := result.MarkdownCode(tt.in); got != tt.want {
			t.Errorf("MarkdownCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := result.MarkdownCodeCell("a|b"); got != "`a\\|b`" {
		t.Errorf("MarkdownCodeCell(a|b) = %q", got)
	}
	if got := result.MarkdownFence("x ``` y", "text"); !strings.HasPrefix(got, "````text\n") {
		t.Errorf("MarkdownFence did not lengthen its fence: %q", got)
	}
}
