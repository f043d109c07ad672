package catalog

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

const customControl = `
  - id: custom.thing
    title: T
    finding_title: F
    action: A
    severity: low
    domains: [Access Control]
    owner: o
    description: d
    risk: r
    remediation: {text: t, config_change: c}
    verification: {request: q, expected: e}
    references: {etsi_en_303_645: ["5.5-1"], owasp_iot_2018: ["I9 Insecure Default Settings"], iec_62443_4_2: ["CR 7.6 Network and security configuration settings"], nist_ir_8259a: ["Device Configuration"]}
    config: {kind: ingestd, fail_when: [{key: auth.mode, op: equals, value: none}]}
`

func TestTheExampleCustomControlsLoad(t *testing.T) {
	cat, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	builtin := len(cat.Controls)
	if err := cat.AddCustom(os.DirFS("../../examples/custom-controls")); err != nil {
		t.Fatalf("AddCustom: %v", err)
	}
	custom := cat.Custom()
	if len(custom) != 3 || len(cat.Controls) != builtin+3 {
		t.Fatalf("%d custom controls, %d in all; want 3 and %d", len(custom), len(cat.Controls), builtin+3)
	}
	c, ok := cat.Get("custom.plaintext_listener_configured")
	if !ok || c.Config == nil || c.Config.FailWhen[0].Describe() != "listen.http is set" {
		t.Fatalf("custom.plaintext_listener_configured: %+v", c)
	}
	for i := 1; i < len(cat.Controls); i++ {
		if cat.Controls[i-1].ID >= cat.Controls[i].ID {
			t.Fatalf("controls not sorted: %s before %s", cat.Controls[i-1].ID, cat.Controls[i].ID)
		}
	}
}

func TestAddCustomRejectsBadControls(t *testing.T) {
	file := func(body string) fstest.MapFS {
		return fstest.MapFS{"site.yaml": {Data: []byte("controls:" + body)}}
	}
	tests := []struct {
		name    string
		files   fstest.MapFS
		wantErr string
	}{
		{"an id outside the custom. prefix", file(strings.Replace(customControl, "custom.thing", "ingest_auth.thing", 1)), `must start with "custom."`},
		{"a built-in id", file(strings.Replace(customControl, "custom.thing", "ingest_auth.insecure_transport", 1)), `must start with "custom."`},
		{"a control without config rules", file(strings.Replace(customControl, "    config: {kind: ingestd, fail_when: [{key: auth.mode, op: equals, value: none}]}\n", "", 1)), "config is required"},
		{"an unknown config kind", file(strings.Replace(customControl, "kind: ingestd", "kind: nginx", 1)), `kind "nginx" is not a config kind hardgate reads`},
		{"an unknown rule operator", file(strings.Replace(customControl, "op: equals", "op: regex", 1)), `unknown op "regex"`},
		{"params", file(customControl + "    params: {limit: 3}\n"), "a custom control has none"},
		{"an unknown key", file(strings.Replace(customControl, "owner: o", "owner: o\n    script: rm -rf /", 1)), "field script not found"},
		{"a missing reference list", file(strings.Replace(customControl, `nist_ir_8259a: ["Device Configuration"]`, "nist_ir_8259a: []", 1)), "references.nist_ir_8259a"},
		{"a duplicate id across files", fstest.MapFS{"a.yaml": {Data: []byte("controls:" + customControl)}, "b.yaml": {Data: []byte("controls:" + customControl)}}, "duplicate id (also in a.yaml)"},
		{"two YAML documents", file(customControl + "---\ncontrols: []\n"), "more than one YAML document"},
		{"a directory without yaml files", fstest.MapFS{"README.md": {Data: []byte("x")}}, "no *.yaml files"},
		{"a file over the size cap", file(customControl + "#" + strings.Repeat("x", MaxCustomFileBytes)), "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			cat, err := Load()
			if err != nil {
				t.Fatal(err)
			}
			before := len(cat.Controls)
			err = cat.AddCustom(tt.files)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("AddCustom error = %v, want it to mention %q", err, tt.wantErr)
			}
			if len(cat.Controls) != before {
				t.Errorf("a refused file changed the catalog: %d controls, want %d", len(cat.Controls), before)
			}
		})
	}
	t.Run("a built-in file cannot claim the custom. prefix", func(t *testing.T) {
		_, err := LoadFS(fstest.MapFS{"c/custom.yaml": {Data: []byte("controls:" + strings.Replace(customControl, "    config:", "    #", 1))}}, "c")
		if err == nil || !strings.Contains(err.Error(), "reserved for the user's own controls") {
			t.Fatalf("LoadFS error = %v", err)
		}
	})
	t.Run("a missing controls dir is an error", func(t *testing.T) {
		if _, err := LoadWithCustom("/nonexistent/controls"); err == nil {
			t.Fatal("no error")
		}
	})
}

func FuzzAddCustom(f *testing.F) {
	f.Add([]byte("controls:" + customControl))
	f.Add([]byte("controls:" + strings.Replace(customControl, "kind: ingestd", "kind: mosquitto", 1)))
	f.Add([]byte("controls:\n  - id: custom.b\n    params: {x: [a, b]}\n    title: '{{x}}'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cat, err := Load()
		if err != nil {
			t.Fatal(err)
		}
		before := len(cat.Controls)
		if err := cat.AddCustom(fstest.MapFS{"site.yaml": {Data: data}}); err != nil {
			if len(cat.Controls) != before {
				t.Fatal("a refused file changed the catalog")
			}
			return
		}
		for _, c := range cat.Custom() {
			if !IsCustom(c.ID) || c.Config == nil || len(c.Config.FailWhen) == 0 || len(c.Params) > 0 {
				t.Fatalf("AddCustom accepted an invalid custom control %+v", c)
			}
			for j := range c.Config.FailWhen {
				_ = c.Config.FailWhen[j].Matches("x") // compiled: must not panic
			}
		}
	})
}
