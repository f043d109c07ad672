package spec

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/gateway/config"
)

// goName matches Go type names and YAML tags, which a user must never see.
var goName = regexp.MustCompile(`\b(config|spec)\.[A-Z]|\[\]string|struct \{|!!(str|int|map|seq|bool)|not found in type|cannot unmarshal`)

func TestSpecYAMLErrorsNameTheKeyPathAndLine(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"an unknown key names its path and the key meant", "ingest:\n  urlz: []\n", "line 2: ingest.urlz: unknown key; did you mean urls?"},
		{"a URL where a section belongs", "name: gw\ningest: https://127.0.0.1:8443/v1/ingest\n", `line 2: ingest: want a mapping of keys (urls, health_url, ca_file, token_env), got "https://127.0.0.1:8443/v1/ingest"`},
		{"a list where a string belongs names the index", "ingest:\n  urls:\n    - [a]\n", "line 3: ingest.urls[0]: want a string, got a list"},
		{"a bad duration", "ingest:\n  urls: [https://127.0.0.1/x]\ntimeouts:\n  request: soon\n", `line 4: timeouts.request: want a duration such as 5s, 250ms or 1m30s, got "soon"`},
		{"a word where a port belongs", "mqtt:\n  plaintext_port: mqtt\n", `line 2: mqtt.plaintext_port: want a whole number, got "mqtt"`},
		{"a key set twice", "name: a\nname: b\n", "line 2: name: set twice (first at line 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want %q", err, tt.want)
			}
			if goName.MatchString(err.Error()) {
				t.Fatalf("Parse error = %v: it names a Go type", err)
			}
			var ye *config.YAMLError
			if !errors.As(err, &ye) || ye.Line == 0 || ye.Path == "" {
				t.Fatalf("Parse error %v is not a *config.YAMLError with a line and a path", err)
			}
		})
	}
}
