package spec

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseTargetRejectsBadSpecs(t *testing.T) {
	tests := []struct {
		name, spec, wantErr string
	}{
		{"an empty spec is refused", "", "empty"},
		{"an unknown key is refused", "name: x\ningest:\n  url: http://127.0.0.1/\n", "line 3: ingest.url: unknown key; did you mean urls?"},
		{"a wrong type is refused", "ingest:\n  urls: http://127.0.0.1/\n", `line 2: ingest.urls: want a list, got "http://127.0.0.1/"`},
		{"a bad duration is refused", "timeouts:\n  request: soon\n", `line 2: timeouts.request: want a duration`},
		{"two documents are refused", "name: a\n---\nname: b\n", "more than one YAML document"},
		{"a non-mapping is refused", "- a\n- b\n", "line 1: the top level: want a mapping of keys"},
		{"an oversize spec is refused", "name: " + strings.Repeat("a", MaxBytes), "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.spec))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseTarget error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestDefaultNameIsTheHostWithoutItsPort(t *testing.T) {
	tests := []struct {
		name   string
		target Target
		want   string
	}{
		{"the first ingest URL's host names the target", Target{Ingest: Ingest{URLs: []string{"https://127.0.0.1:8443/v1/ingest", "http://localhost:8080/v1/ingest"}}}, "127.0.0.1"},
		{"a plaintext port and a TLS port give the same name", Target{Ingest: Ingest{URLs: []string{"http://127.0.0.1:8080/v1/ingest"}}}, "127.0.0.1"},
		{"an IPv6 host loses its brackets and port", Target{Ingest: Ingest{URLs: []string{"https://[::1]:8443/v1/ingest"}}}, "::1"},
		{"an MQTT-only target is named after the broker's host", Target{MQTT: MQTT{URLs: []string{"mqtts://localhost:8883"}}}, "localhost"},
		{"a config-only target is named after the file", Target{Gateway: Gateway{ConfigFile: "/etc/ingestd/ingestd.yaml"}}, "ingestd.yaml"},
		{"an explicit name is kept", Target{Name: "plant-gateway", Ingest: Ingest{URLs: []string{"https://127.0.0.1:8443/"}}}, "plant-gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.target.Complete()
			if tt.target.Name != tt.want {
				t.Fatalf("name %q, want %q", tt.target.Name, tt.want)
			}
		})
	}
}

func TestValidateNamesTheFieldAndTheValue(t *testing.T) {
	tests := []struct {
		name    string
		target  Target
		wantErr string
	}{
		{"a target with nothing to audit is refused", Target{}, "ingest.urls"},
		{"a non-HTTP scheme is refused", Target{Ingest: Ingest{URLs: []string{"ftp://127.0.0.1/x"}}}, `ingest.urls[0]: scheme must be http or https (got "ftp://127.0.0.1/x")`},
		{"a URL without host is refused", Target{Ingest: Ingest{URLs: []string{"http:///x"}}}, "has no host"},
		{"credentials in a URL are refused", Target{Ingest: Ingest{URLs: []string{"https://u:p@127.0.0.1/x"}}}, "must not carry credentials"},
		{"an unknown gateway kind is refused", Target{Gateway: Gateway{ConfigFile: "/dev/null", Kind: "nginx"}}, `gateway.kind: must be one of ingestd, mosquitto (got "nginx")`},
		{"an environment variable name with a space is refused", Target{Ingest: Ingest{URLs: []string{"https://127.0.0.1/x"}, TokenEnv: "A B"}}, `ingest.token_env: must be an environment variable name`},
		{"a token given as the variable name is refused and withheld", Target{Ingest: Ingest{URLs: []string{"https://127.0.0.1/x"}, TokenEnv: "igd.abc.def"}}, `(got [withheld: it may be the secret itself])`},
		{"an unset timeout is refused, not defaulted", Target{Ingest: Ingest{URLs: []string{"https://127.0.0.1/x"}}}, "timeouts.request: must be positive"},
		{"an audit deadline below the request deadline is refused", Target{Ingest: Ingest{URLs: []string{"https://127.0.0.1/x"}}, Timeouts: Timeouts{Request: Duration(10e9), Audit: Duration(1e9)}}, "timeouts.audit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tgt := tt.target
			err := tgt.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestRelativePathsResolveAgainstTheSpecFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := filepath.Join(dir, "target.yaml")
	if err := os.WriteFile(spec, []byte("name: gw\ningest:\n  urls: [https://127.0.0.1:8443/v1/ingest]\n  ca_file: ca.pem\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tgt, err := Load(spec)
	if err != nil {
		t.Fatal(err)
	}
	if tgt.Ingest.CAFile != filepath.Join(dir, "ca.pem") {
		t.Fatalf("ca_file = %q, want it next to the spec", tgt.Ingest.CAFile)
	}
}

func FuzzParseTarget(f *testing.F) {
	f.Add([]byte("name: gw\ningest:\n  urls: [https://127.0.0.1:8443/v1/ingest]\n  token_env: T\ntimeouts: {request: 1s, audit: 5s}\n"))
	f.Add([]byte("gateway: {config_file: a.yaml, kind: ingestd}\n"))
	f.Add([]byte("- [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tgt, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		before := *tgt
		_ = tgt.Validate() // must not panic, whatever it says
		if !reflect.DeepEqual(before, *tgt) {
			t.Fatal("Validate changed the spec")
		}
	})
}

// TestExampleTargetSpecsParse keeps the target specs under examples/ in
// step with the schema: each must decode strictly and name what it audits.
func TestExampleTargetSpecsParse(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "..", "examples", "*", "target*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob(filepath.Join("..", "..", "examples", "targets", "*.yaml"))
	paths = append(paths, more...)
	if len(paths) < 3 {
		t.Fatalf("found %d example target specs, want at least 3 (examples/targets/*.yaml, examples/mqtt/target.yaml)", len(paths))
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			tg, err := Parse(f)
			if err != nil {
				t.Fatalf("%s does not parse: %v", p, err)
			}
			if tg.Name == "" || (len(tg.Ingest.URLs) == 0 && len(tg.MQTT.URLs) == 0 && tg.Gateway.ConfigFile == "") {
				t.Errorf("%s names nothing to audit: %+v", p, tg)
			}
			for _, u := range append(append([]string{}, tg.Ingest.URLs...), tg.MQTT.URLs...) {
				if !strings.Contains(u, "127.0.0.1") && !strings.Contains(u, "localhost") && !strings.Contains(u, "[::1]") {
					t.Errorf("%s: example URL %s is not on loopback", p, u)
				}
			}
		})
	}
}

func TestMQTTSpecValidationNamesTheField(t *testing.T) {
	ok := []string{"mqtt://127.0.0.1:1883"}
	tests := []struct {
		name    string
		spec    MQTT
		wantErr string
	}{
		{"an http URL is refused", MQTT{URLs: []string{"http://127.0.0.1:1883"}}, `mqtt.urls[0]: scheme must be mqtt or mqtts`},
		{"a URL without host is refused", MQTT{URLs: []string{"mqtt://"}}, "mqtt.urls[0]: has no host"},
		{"credentials in the URL are refused", MQTT{URLs: []string{"mqtt://u:p@127.0.0.1:1883"}}, "must not carry credentials"},
		{"an unknown version is refused", MQTT{URLs: ok, Version: "3.1"}, `mqtt.version: must be "3.1.1" or "5"`},
		{"a password without a username is refused", MQTT{URLs: ok, PasswordEnv: "HG_MQTT_PASSWORD"}, "mqtt.username: required"},
		{"a wildcard probe prefix is refused", MQTT{URLs: ok, TopicPrefix: "probe/#"}, "mqtt.topic_prefix"},
		{"settings without a URL are refused", MQTT{Username: "u"}, "mqtt.urls: required"},
		{"a negative plaintext port is refused", MQTT{URLs: []string{"mqtts://127.0.0.1:8883"}, PlaintextPort: -1}, `mqtt.plaintext_port: must be a port from 1 to 65535 (0 or absent: no plaintext check) (got "-1")`},
		{"a plaintext port over 65535 is refused", MQTT{URLs: []string{"mqtts://127.0.0.1:8883"}, PlaintextPort: 65536}, `mqtt.plaintext_port: must be a port from 1 to 65535 (0 or absent: no plaintext check) (got "65536")`},
		{"a plaintext port without an mqtts URL is refused", MQTT{URLs: ok, PlaintextPort: 1883}, `mqtt.plaintext_port: applies to mqtts:// URLs only`},
		{"a plaintext port without any URL is refused", MQTT{PlaintextPort: 1883}, "mqtt.urls: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tgt := Target{Ingest: Ingest{URLs: []string{"https://127.0.0.1/x"}}, MQTT: tt.spec}
			err := tgt.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate error = %v, want %q", err, tt.wantErr)
			}
		})
	}
	t.Run("a target with only an MQTT broker is valid", func(t *testing.T) {
		tgt := Target{MQTT: MQTT{URLs: ok}, Timeouts: DefaultTimeouts}
		if err := tgt.Validate(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a plaintext port beside an mqtts URL is valid", func(t *testing.T) {
		tgt := Target{MQTT: MQTT{URLs: []string{"mqtt://127.0.0.1:1883", "mqtts://127.0.0.1:8883"}, PlaintextPort: 1883}, Timeouts: DefaultTimeouts}
		if err := tgt.Validate(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the mqtt section parses strictly", func(t *testing.T) {
		_, err := Parse(strings.NewReader("mqtt:\n  urls: [mqtt://127.0.0.1:1883]\n  user: x\n"))
		if err == nil || !strings.Contains(err.Error(), "line 3: mqtt.user: unknown key; did you mean username?") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestTargetRejectsBadTLSAddresses(t *testing.T) {
	tests := []struct {
		name string
		spec TLS
		want string
	}{
		{"an address without a port is refused", TLS{Addresses: []string{"127.0.0.1"}}, "tls.addresses[0]"},
		{"a negative expiry window is refused", TLS{ExpiryWarningDays: -1}, "tls.expiry_warning_days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tgt := &Target{Ingest: Ingest{URLs: []string{"https://127.0.0.1:8443/v1/ingest"}}, TLS: tt.spec}
			err := tgt.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

// TestValidateIsPure: Validate reads no file and no environment variable
// (collect.Resolve does) and changes nothing, not even defaults.
func TestValidateIsPure(t *testing.T) {
	t.Parallel()
	tgt := Target{
		Ingest:   Ingest{URLs: []string{"https://127.0.0.1:8443/v1/ingest"}, CAFile: "/nonexistent/ca.pem", TokenEnv: "HG_SURELY_UNSET_TOKEN"},
		Gateway:  Gateway{ConfigFile: "/nonexistent/ingestd.yaml", Kind: KindIngestd},
		MQTT:     MQTT{URLs: []string{"mqtts://127.0.0.1:8883"}, Username: "u", PasswordEnv: "HG_SURELY_UNSET_PASSWORD", CAFile: "/nonexistent/mqtt-ca.pem"},
		Timeouts: DefaultTimeouts,
	}
	before := tgt
	if err := tgt.Validate(); err != nil {
		t.Fatalf("Validate looked outside the spec: %v", err)
	}
	if !reflect.DeepEqual(before, tgt) {
		t.Fatal("Validate changed the spec")
	}
	var empty Target
	_ = empty.Validate()
	if !reflect.DeepEqual(empty, Target{}) {
		t.Fatal("Validate filled defaults; Complete does that")
	}
}

func TestLoadResolvesPathsAgainstTheSpecFolderEvenAtTheRoot(t *testing.T) {
	t.Parallel()
	tests := []struct{ specPath, want string }{
		{"/x.yaml", "/ca.pem"},
		{"/etc/hardgate/x.yaml", "/etc/hardgate/ca.pem"},
		{"x.yaml", "ca.pem"},
	}
	for _, tt := range tests {
		tgt := Target{Ingest: Ingest{CAFile: "ca.pem"}}
		tgt.ResolvePaths(filepath.Dir(tt.specPath))
		if tgt.Ingest.CAFile != tt.want {
			t.Errorf("spec %s: ca_file %q, want %q", tt.specPath, tgt.Ingest.CAFile, tt.want)
		}
	}
}
