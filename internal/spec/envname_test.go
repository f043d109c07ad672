package spec

import (
	"strings"
	"testing"
)

func TestATokenGivenAsTheVariableNameIsNeverPrinted(t *testing.T) {
	const token = "igd.Qm9vVGVzdFRva2Vu.c2VjcmV0LXZhbHVlLW5ldmVyLXByaW50ZWQtYW55d2hlcmU"
	tests := []struct {
		name   string
		target Target
		field  string
		hint   string
	}{
		{"a device token as token_env", Target{Ingest: Ingest{URLs: []string{"https://127.0.0.1/x"}, TokenEnv: token}},
			"ingest.token_env", "do not pass the token itself"},
		{"a password as password_env", Target{MQTT: MQTT{URLs: []string{"mqtt://127.0.0.1:1883"}, Username: "u", PasswordEnv: token}},
			"mqtt.password_env", "do not pass the password itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused without echoing it", func(t *testing.T) {
			tgt := tt.target
			tgt.Complete()
			err := tgt.Validate()
			if err == nil {
				t.Fatal("Validate accepted a token as a variable name")
			}
			msg := err.Error()
			if strings.Contains(msg, token) || strings.Contains(msg, "Qm9vVGVzdFRva2Vu") {
				t.Fatalf("the error prints the secret: %s", msg)
			}
			if !strings.Contains(msg, tt.field) || !strings.Contains(msg, tt.hint) {
				t.Fatalf("error = %s, want %s and %q", msg, tt.field, tt.hint)
			}
		})
	}
}

func TestShownEnvNameShowsNamesAndWithholdsWhatMayBeASecret(t *testing.T) {
	tests := []struct {
		value string
		shown bool
	}{
		{"HARDGATE_TOKEN", true},
		{"TOKEN", true},
		{"MQTT_PASSWORD_2", true},
		{"hgtAbCdEf123xyzQ", false},          // mixed case: a token shape
		{"AB12CD34EF56GH78", false},          // base32-like, no underscore
		{"DEADBEEF_0123456789ABCDEF", false}, // hex digits
		{"igd.abc.def", false},
		{"A B", false},
	}
	for _, tt := range tests {
		_, withheld := ShownEnvName(tt.value).(Withheld)
		if withheld == tt.shown {
			t.Errorf("ShownEnvName(%q) withheld = %v, want shown = %v", tt.value, withheld, tt.shown)
		}
	}
}
