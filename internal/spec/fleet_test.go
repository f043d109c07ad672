package spec

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const exampleFleet = `defaults:
  ingest: {ca_file: ca.pem, token_env: HARDGATE_TOKEN}
  timeouts: {request: 5s, audit: 60s}
  labels: {owner: ops}
targets:
  - name: gw-0001
    labels: {site: plant-1, model: pi4}
    ingest: {urls: ["https://127.0.0.1:8443/v1/ingest"]}
  - spec: gateways/gw-0002.yaml
    labels: {site: plant-2}
  - name: gw-0003
    labels: {site: plant-1, owner: lab}
    ingest: {urls: ["https://127.0.0.1:9443/v1/ingest"], token_env: OTHER_TOKEN}
    timeouts: {audit: 10s}
`

func writeFleet(t *testing.T, fleet string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(p, []byte(fleet), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFleetExpandsDefaultsSpecFilesAndOwnFields(t *testing.T) {
	path := writeFleet(t, exampleFleet, map[string]string{
		"gateways/gw-0002.yaml": "name: gw-0002\ningest:\n  urls: [https://127.0.0.1:8444/v1/ingest]\n  ca_file: own-ca.pem\ngateway: {config_file: ingestd.yaml}\n",
	})
	dir := filepath.Dir(path)
	f, err := LoadFleet(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Targets) != 3 {
		t.Fatalf("%d targets, want 3", len(f.Targets))
	}
	one, two, three := f.Targets[0], f.Targets[1], f.Targets[2]
	t.Run("an inline entry takes the defaults", func(t *testing.T) {
		if one.Name() != "gw-0001" || one.Target.Ingest.CAFile != filepath.Join(dir, "ca.pem") || one.Target.Ingest.TokenEnv != "HARDGATE_TOKEN" {
			t.Fatalf("target %+v", one.Target)
		}
		if one.Labels["site"] != "plant-1" || one.Labels["model"] != "pi4" || one.Labels["owner"] != "ops" {
			t.Fatalf("labels %v", one.Labels)
		}
		if one.Line != 6 || one.Entry != 0 {
			t.Fatalf("entry %d line %d", one.Entry, one.Line)
		}
	})
	t.Run("a spec file's fields win over the defaults, its paths relative to its folder", func(t *testing.T) {
		if two.Name() != "gw-0002" || two.SpecFile != filepath.Join(dir, "gateways/gw-0002.yaml") {
			t.Fatalf("name %q spec %q", two.Name(), two.SpecFile)
		}
		if two.Target.Ingest.CAFile != filepath.Join(dir, "gateways/own-ca.pem") || two.Target.Gateway.ConfigFile != filepath.Join(dir, "gateways/ingestd.yaml") {
			t.Fatalf("paths %q %q", two.Target.Ingest.CAFile, two.Target.Gateway.ConfigFile)
		}
		if two.Target.Gateway.Kind != KindIngestd || two.Target.Ingest.TokenEnv != "HARDGATE_TOKEN" {
			t.Fatalf("completed target %+v", two.Target)
		}
	})
	t.Run("an entry's own fields win, field by field", func(t *testing.T) {
		if three.Target.Ingest.TokenEnv != "OTHER_TOKEN" || three.Target.Ingest.CAFile != filepath.Join(dir, "ca.pem") {
			t.Fatalf("ingest %+v", three.Target.Ingest)
		}
		if time.Duration(three.Target.Timeouts.Audit) != 10*time.Second || time.Duration(three.Target.Timeouts.Request) != 5*time.Second {
			t.Fatalf("timeouts %+v", three.Target.Timeouts)
		}
		if three.Labels["owner"] != "lab" {
			t.Fatalf("labels %v", three.Labels)
		}
	})
	t.Run("targets do not share slices", func(t *testing.T) {
		one.Target.Ingest.URLs[0] = "changed"
		if three.Target.Ingest.URLs[0] == "changed" || two.Target.Ingest.URLs[0] == "changed" {
			t.Fatal("a slice is shared between targets")
		}
	})
}

func TestParseFleetRejectsBadFiles(t *testing.T) {
	const ok = "    ingest: {urls: [https://127.0.0.1:8443/]}\n"
	tests := []struct {
		name, fleet, wantErr string
	}{
		{"an empty file is refused", "", "empty"},
		{"two documents are refused", "targets: [{name: a}]\n---\ntargets: []\n", "more than one YAML document"},
		{"a list at the top is refused", "- name: a\n", "the top level must be a mapping"},
		{"an unknown top-level key is refused", "target:\n  - name: a\n", `line 1: unknown key "target"`},
		{"a fleet without targets is refused", "defaults: {}\n", "the fleet has no targets"},
		{"targets that are not a list are refused", "targets: {name: a}\n", "targets must be a list"},
		{"an entry that is not a mapping is refused", "targets:\n  - gw-1\n", "targets[0] at line 2: an entry must be a mapping"},
		{"an unknown field names the entry, the field and the line", "targets:\n  - name: gw-1\n    ingest: {url: https://127.0.0.1/}\n", `targets[0] (gw-1) at line 2: line 3: ingest.url: unknown field (known here: urls, health_url, ca_file, token_env)`},
		{"an inline token is refused with the way to give secrets", "targets:\n  - name: gw-1\n    ingest: {urls: [https://127.0.0.1/], token: s3cret}\n", "ingest.token: unknown field (known here: urls, health_url, ca_file, token_env); secrets are never written in a fleet file"},
		{"an inline MQTT password is refused", "targets:\n  - name: gw-1\n    mqtt: {urls: [mqtts://127.0.0.1:8883], password: s3cret}\n", "mqtt.password: unknown field"},
		{"a wrong shape names the field", "targets:\n  - name: gw-1\n    ingest: {urls: https://127.0.0.1/}\n", "line 3: ingest.urls: must be a list"},
		{"a scalar where a mapping belongs names the field", "targets:\n  - name: gw-1\n    timeouts: 5s\n", "line 3: timeouts: must be a mapping"},
		{"a bad duration names the line", "targets:\n  - name: gw-1\n" + ok + "    timeouts: {audit: soon}\n", `targets[0] (gw-1) at line 2: line 4: invalid duration "soon"`},
		{"a bad number names the entry", "targets:\n  - name: gw-1\n" + ok + "    tls: {expiry_warning_days: many}\n", "targets[0] (gw-1)"},
		{"a duplicate key in an entry is refused", "targets:\n  - name: gw-1\n    name: gw-2\n", "line 3: name: already set at line 2"},
		{"a duplicate nested key is refused", "targets:\n  - name: gw-1\n    ingest: {urls: [https://127.0.0.1/], urls: [https://127.0.0.2/]}\n", "ingest.urls: already set"},
		{"labels must be a mapping", "targets:\n  - name: gw-1\n    labels: [a, b]\n" + ok, "labels: must be a mapping"},
		{"a label value must be a single value", "targets:\n  - name: gw-1\n    labels: {site: [a]}\n" + ok, "labels.site: must be a single value"},
		{"a name in the defaults is refused", "defaults: {name: gw}\ntargets:\n  - name: gw-1\n" + ok, "defaults at line 1: line 1: name: a name belongs to one target"},
		{"spec in the defaults is refused", "defaults: {spec: a.yaml}\ntargets:\n  - name: gw-1\n" + ok, "defaults at line 1: line 1: spec: unknown field"},
		{"an unknown defaults field is refused", "defaults: {ingest: {ca: ca.pem}}\ntargets:\n  - name: gw-1\n" + ok, "defaults at line 1: line 1: ingest.ca: unknown field"},
		{"a missing spec file names the entry", "targets:\n  - spec: missing.yaml\n", "targets[0] at line 2: spec: open"},
		{"an empty spec path is refused", "targets:\n  - spec: \"\"\n", "spec: must be the path of a target spec file"},
		{"an oversize file is refused", "targets: []\n#" + strings.Repeat("a", MaxFleetBytes), "larger than"},
		{"problems in several entries are all reported", "targets:\n  - name: a\n    bogus: 1\n  - name: b\n    other: 2\n", "targets[1] (b) at line 4: line 5: other: unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFleet(strings.NewReader(tt.fleet), t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseFleet error = %v\nwant %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseFleetRejectsABadSpecFile(t *testing.T) {
	path := writeFleet(t, "targets:\n  - spec: gw.yaml\n    name: gw-1\n", map[string]string{"gw.yaml": "ingest:\n  url: https://127.0.0.1/\n"})
	_, err := LoadFleet(path)
	if err == nil || !strings.Contains(err.Error(), "targets[0] (gw-1) at line 2: spec: ") || !strings.Contains(err.Error(), "gw.yaml: yaml: unmarshal errors:\n  line 2: field url not found") {
		t.Fatalf("error = %v", err)
	}
}

func TestFleetValidateNamesTheEntryAndTheField(t *testing.T) {
	const url = "    ingest: {urls: [https://127.0.0.1:8443/]}\n"
	tests := []struct {
		name, fleet, wantErr string
	}{
		{"a duplicate name is refused", "targets:\n  - name: gw-1\n" + url + "  - name: gw-1\n" + url, `targets[1] (gw-1) at line 4: name: already used by targets[0]; names are unique in a fleet (got "gw-1")`},
		{"names differing only in case collide", "targets:\n  - name: GW-1\n" + url + "  - name: gw-1\n" + url, "already used by targets[0]"},
		{"a default name shared by two targets collides", "targets:\n  - ingest: {urls: [https://127.0.0.1:1/]}\n  - ingest: {urls: [https://127.0.0.1:2/]}\n", `targets[1] (127.0.0.1) at line 3: name: already used by targets[0]`},
		{"a name that is not a file name is refused", "targets:\n  - name: ../etc/passwd\n" + url, `name: must be 1 to 128 letters`},
		{"a name starting with a dot is refused", "targets:\n  - name: .hidden\n" + url, `name: must be 1 to 128 letters`},
		{"an IPv6 default name is refused with the way out", "targets:\n  - ingest: {urls: [\"https://[::1]:8443/\"]}\n", `targets[0] (::1) at line 2: name: must be 1 to 128`},
		{"a field error of the target names entry and field", "targets:\n  - name: gw-1\n    ingest: {urls: [ftp://127.0.0.1/]}\n", `targets[0] (gw-1) at line 2: ingest.urls[0]: scheme must be http or https (got "ftp://127.0.0.1/")`},
		{"credentials in a URL are refused", "targets:\n  - name: gw-1\n    ingest: {urls: [\"https://u:p@127.0.0.1/\"]}\n", "must not carry credentials"},
		{"a target with nothing to audit is refused", "targets:\n  - name: gw-1\n    labels: {site: a}\n", "targets[0] (gw-1) at line 2: ingest.urls: name at least one"},
		{"a bad label key is refused", "targets:\n  - name: gw-1\n    labels: {\"bad key\": x}\n" + url, `labels: a label key is 1 to 63`},
		{"a label value with a control character is refused", "targets:\n  - name: gw-1\n    labels: {site: \"a\\nb\"}\n" + url, `labels.site: a label value is at most 256 bytes`},
		{"a defaults timeout below the request deadline is refused per entry", "defaults: {timeouts: {request: 10s, audit: 1s}}\ntargets:\n  - name: gw-1\n" + url, "targets[0] (gw-1) at line 3: timeouts.audit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFleet(strings.NewReader(tt.fleet), "")
			if err != nil {
				t.Fatalf("ParseFleet: %v", err)
			}
			err = f.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate error = %v\nwant %q", err, tt.wantErr)
			}
		})
	}
}

func TestSelectKeepsTargetsMatchingEveryLabel(t *testing.T) {
	f, err := ParseFleet(strings.NewReader(exampleFleet), "")
	if err == nil {
		t.Fatal("the example names a spec file that is not there; want an error")
	}
	fleet := strings.Replace(exampleFleet, "  - spec: gateways/gw-0002.yaml\n    labels: {site: plant-2}\n", "", 1)
	if f, err = ParseFleet(strings.NewReader(fleet), ""); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		sels  []string
		wants []string
	}{
		{"no selector keeps every target", nil, []string{"gw-0001", "gw-0003"}},
		{"one selector keeps the matches", []string{"site=plant-1"}, []string{"gw-0001", "gw-0003"}},
		{"a default label matches", []string{"owner=ops"}, []string{"gw-0001"}},
		{"selectors combine with and", []string{"site=plant-1", "model=pi4"}, []string{"gw-0001"}},
		{"an empty value matches an empty label only", []string{"model="}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sels []LabelSelector
			for _, s := range tt.sels {
				sel, err := ParseLabelSelector(s)
				if err != nil {
					t.Fatal(err)
				}
				sels = append(sels, sel)
			}
			var got []string
			for _, ft := range f.Select(sels) {
				got = append(got, ft.Name())
			}
			if strings.Join(got, ",") != strings.Join(tt.wants, ",") {
				t.Fatalf("selected %v, want %v", got, tt.wants)
			}
		})
	}
}

func TestParseLabelSelectorRejectsBadSelectors(t *testing.T) {
	for _, s := range []string{"", "site", "=x", "bad key=x"} {
		if _, err := ParseLabelSelector(s); err == nil {
			t.Errorf("ParseLabelSelector(%q) accepted", s)
		}
	}
}

func FuzzParseFleet(f *testing.F) {
	f.Add([]byte(exampleFleet))
	f.Add([]byte("targets:\n  - name: a\n    ingest: {urls: [https://127.0.0.1/]}\n"))
	f.Add([]byte("defaults: &d {ingest: {ca_file: x}}\ntargets:\n  - *d\n"))
	f.Add([]byte("targets: [{labels: {a: b}, tls: {addresses: [127.0.0.1:1]}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fleet, err := ParseFleet(bytes.NewReader(data), "")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if len(fleet.Targets) == 0 {
			t.Fatal("a parsed fleet has no targets")
		}
		if err := fleet.Validate(); err != nil && err.Error() == "" {
			t.Fatal("empty validation error")
		}
		_ = fleet.Select([]LabelSelector{{Key: "a", Value: "b"}})
	})
}
