package audit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseTargetRejectsBadSpecs(t *testing.T) {
	tests := []struct {
		name, spec, wantErr string
	}{
		{"an empty spec is refused", "", "empty"},
		{"an unknown key is refused", "name: x\ningest:\n  url: http://127.0.0.1/\n", "field url not found"},
		{"a wrong type is refused", "ingest:\n  urls: http://127.0.0.1/\n", "cannot unmarshal"},
		{"a bad duration is refused", "timeouts:\n  request: soon\n", `invalid duration "soon"`},
		{"two documents are refused", "name: a\n---\nname: b\n", "more than one YAML document"},
		{"a non-mapping is refused", "- a\n- b\n", "cannot unmarshal"},
		{"an oversize spec is refused", "name: " + strings.Repeat("a", MaxTargetBytes), "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTarget(strings.NewReader(tt.spec), "")
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
		{"an MQTT-only target is named after the broker's host", Target{MQTT: MQTTSpec{URLs: []string{"mqtts://localhost:8883"}}}, "localhost"},
		{"a config-only target is named after the file", Target{Gateway: Gateway{ConfigFile: "/etc/ingestd/ingestd.yaml"}}, "ingestd.yaml"},
		{"an explicit name is kept", Target{Name: "plant-gateway", Ingest: Ingest{URLs: []string{"https://127.0.0.1:8443/"}}}, "plant-gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.target.ApplyDefaults()
			if tt.target.Name != tt.want {
				t.Fatalf("name %q, want %q", tt.target.Name, tt.want)
			}
		})
	}
}

func TestValidateNamesTheFieldAndTheValue(t *testing.T) {
	t.Setenv("HG_EMPTY", "")
	tests := []struct {
		name    string
		target  Target
		wantErr string
	}{
		{"a target with nothing to audit is refused", Target{}, "ingest.urls"},
		{"a non-HTTP scheme is refused", Target{Ingest: Ingest{URLs: []string{"ftp://127.0.0.1/x"}}}, `ingest.urls[0]: scheme must be http or https (got "ftp://127.0.0.1/x")`},
		{"a URL without host is refused", Target{Ingest: Ingest{URLs: []string{"http:///x"}}}, "has no host"},
		{"credentials in a URL are refused", Target{Ingest: Ingest{URLs: []string{"https://u:p@127.0.0.1/x"}}}, "must not carry credentials"},
		{"a missing CA file is refused", Target{Ingest: Ingest{URLs: []string{"https://127.0.0.1/x"}, CAFile: "/nonexistent/ca.pem"}}, `ingest.ca_file: cannot be read`},
		{"an empty token variable is refused", Target{Ingest: Ingest{URLs: []string{"https://127.0.0.1/x"}, TokenEnv: "HG_EMPTY"}}, `ingest.token_env: the environment variable is unset or empty (got "HG_EMPTY")`},
		{"an unknown gateway kind is refused", Target{Gateway: Gateway{ConfigFile: "/dev/null", Kind: "nginx"}}, `gateway.kind: must be one of ingestd, mosquitto (got "nginx")`},
		{"a missing gateway config is refused", Target{Gateway: Gateway{ConfigFile: "/nonexistent.yaml"}}, "gateway.config_file: cannot be read"},
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
	tgt, err := LoadTarget(spec)
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
		tgt, err := ParseTarget(bytes.NewReader(data), "/base")
		if err != nil {
			return
		}
		_ = tgt.Validate() // must not panic, whatever it says
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
			tg, err := ParseTarget(f, filepath.Dir(p))
			if err != nil {
				t.Fatalf("%s does not parse: %v", p, err)
			}
			tg.ApplyDefaults()
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
