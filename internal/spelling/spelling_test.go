package spelling

import (
	"slices"
	"testing"
)

func TestSuggestFindsWhatWasMeant(t *testing.T) {
	auditFlags := []string{"target", "url", "mqtt-url", "ca", "token-env", "gateway-config", "gateway-kind", "out", "format", "fail-on", "baseline", "name", "timeout", "deadline", "v"}
	commands := []string{"demo", "audit", "report", "diff", "history", "controls", "version", "completion"}
	tests := []struct {
		name       string
		word       string
		candidates []string
		want       []string
	}{
		{"a wrong letter", "uri", auditFlags, []string{"url"}},
		{"a longer spelling of a flag", "output", auditFlags, []string{"out"}},
		{"curl's name for the CA file", "cacert", auditFlags, []string{"ca"}},
		{"two swapped letters", "audti", commands, []string{"audit"}},
		{"a swapped pair in a longer word", "fromat", auditFlags, []string{"format"}},
		{"a prefix shared by two flags names both", "gateway", auditFlags, []string{"gateway-config", "gateway-kind"}},
		{"a missing letter in a config key", "htps", []string{"https", "http"}, []string{"https"}},
		{"nothing close suggests nothing", "frobnicate", auditFlags, nil},
		{"a one-letter word is not matched to everything", "x", auditFlags, nil},
		{"an empty word suggests nothing", "", auditFlags, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Suggest(tt.word, tt.candidates); !slices.Equal(got, tt.want) {
				t.Fatalf("Suggest(%q) = %q, want %q", tt.word, got, tt.want)
			}
		})
	}
}

func FuzzSuggest(f *testing.F) {
	f.Add("uri", "url")
	f.Add("", "")
	f.Add("ünïcode", "unicode")
	f.Fuzz(func(t *testing.T, word, candidate string) {
		got := Suggest(word, []string{candidate, "url", "out"})
		if len(got) > 3 {
			t.Fatalf("%d suggestions", len(got))
		}
		if distance(word, word) != 0 {
			t.Fatal("distance to itself is not 0")
		}
	})
}
