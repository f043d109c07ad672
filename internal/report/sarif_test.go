package report_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
)

// sarifSchemaFile is the official OASIS SARIF 2.1.0 schema (Committee
// Specification 2.1.0, oasis-tcs/sarif-spec), kept verbatim in testdata.
const sarifSchemaFile = "sarif-schema-2.1.0.json"

func compileSARIFSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", sarifSchemaFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	const id = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		t.Fatalf("compile the SARIF schema: %v", err)
	}
	return sch
}

func TestSARIFValidatesAgainstTheOfficialSchema(t *testing.T) {
	sch := compileSARIFSchema(t)
	withError := reporttest.WorkedExampleBefore()
	health := reporttest.Control(withError, reporttest.HealthUnavailable)
	health.Status = result.StatusError
	health.Reason = "dial tcp 127.0.0.1:8080: connection refused"
	withAbsPath := reporttest.WorkedExampleBefore()
	reporttest.Finding(withAbsPath, reporttest.AuthEnforcementDisabled).Evidence[0].Config.File = "/etc/ingestd/ingest d.yaml"
	withAbsPath.Target.ConfigFiles[0].Path = "/etc/ingestd/ingest d.yaml"
	tests := []struct {
		name string
		res  *result.Result
	}{
		{"the worked example's before result with four findings", reporttest.WorkedExampleBefore()},
		{"the worked example's after result with no findings", reporttest.WorkedExampleAfter()},
		{"a result with an undecided control", withError},
		{"a result whose config file has an absolute path with a space", withAbsPath},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is valid SARIF 2.1.0", func(t *testing.T) {
			var buf bytes.Buffer
			if err := report.Render(&buf, tc.res, "sarif", report.RenderOptions{}); err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(inst); err != nil {
				t.Fatalf("SARIF output does not validate: %v", err)
			}
		})
	}
}

func TestSARIFSchemaCatchesInvalidLogs(t *testing.T) {
	sch := compileSARIFSchema(t)
	// Guard against a schema that accepts anything.
	for _, bad := range []string{
		`{"version":"2.1.0"}`,
		`{"version":"9.9.9","runs":[]}`,
		`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"ruleId":"a","level":"fatal","message":{"text":"m"}}]}]}`,
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		if sch.Validate(inst) == nil {
			t.Errorf("schema accepted an invalid log: %s", bad)
		}
	}
}

type sarifDoc struct {
	Runs []struct {
		Tool struct {
			Driver struct {
				Rules []struct {
					ID                   string `json:"id"`
					DefaultConfiguration struct {
						Level string `json:"level"`
					} `json:"defaultConfiguration"`
					Help struct {
						Text string `json:"text"`
					} `json:"help"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			Level     string `json:"level"`
			Kind      string `json:"kind"`
			Locations []struct {
				PhysicalLocation *struct {
					ArtifactLocation struct {
						URI string `json:"uri"`
					} `json:"artifactLocation"`
					Region *struct {
						StartLine int `json:"startLine"`
					} `json:"region"`
				} `json:"physicalLocation"`
				LogicalLocations []struct {
					Name string `json:"name"`
				} `json:"logicalLocations"`
			} `json:"locations"`
		} `json:"results"`
	} `json:"runs"`
}

func TestSARIFContent(t *testing.T) {
	res := reporttest.WorkedExampleBefore()
	var buf bytes.Buffer
	if err := report.Render(&buf, res, "sarif", report.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	var doc sarifDoc
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	run := doc.Runs[0]
	if got := len(run.Tool.Driver.Rules); got != len(res.Controls) {
		t.Errorf("rules = %d, want one per control (%d)", got, len(res.Controls))
	}
	if got := len(run.Results); got != 4 {
		t.Errorf("results = %d, want one per finding (4)", got)
	}
	levels := map[string]string{}
	for _, r := range run.Tool.Driver.Rules {
		levels[r.ID] = r.DefaultConfiguration.Level
		if r.ID == reporttest.AuthEnforcementDisabled && !strings.Contains(r.Help.Text, "Set auth.mode to bearer") {
			t.Errorf("rule help %q does not carry the remediation", r.Help.Text)
		}
	}
	if levels[reporttest.InsecureTransport] != "error" || levels[reporttest.UnsafeDefaultsNotObservable] != "warning" || levels[reporttest.TLS13NotSupported] != "note" {
		t.Errorf("severity → level mapping wrong: %v", levels)
	}
	cfg := reporttest.Finding(res, reporttest.AuthEnforcementDisabled).Evidence[0].Config
	for _, r := range run.Results {
		switch r.RuleID {
		case reporttest.AuthEnforcementDisabled:
			pl := r.Locations[0].PhysicalLocation
			if pl == nil || pl.ArtifactLocation.URI != "file://"+cfg.File || pl.Region == nil || pl.Region.StartLine != cfg.Line {
				t.Errorf("config finding location = %+v, want %s at line %d", pl, cfg.File, cfg.Line)
			}
		case reporttest.UnauthenticatedIngest:
			ll := r.Locations[0].LogicalLocations
			if len(ll) != 1 || ll[0].Name != "http://127.0.0.1:8080/v1/ingest" {
				t.Errorf("HTTP finding location = %+v, want the URL", ll)
			}
		}
	}
}

func TestSARIFRulesOfPassingControlsCarryTheCatalogText(t *testing.T) {
	res := reporttest.WorkedExampleAfter()
	docs := func(id string) (result.ControlDoc, bool) {
		return result.ControlDoc{
			Risk:         "risk of " + id,
			Remediation:  result.Remediation{Text: "fix " + id, ConfigChange: "auth:\n  mode: bearer"},
			Verification: result.Verification{Request: "POST /v1/ingest", Expected: "401"},
		}, true
	}
	tests := []struct {
		name     string
		docs     func(string) (result.ControlDoc, bool)
		wantHelp func(id string) string
	}{
		{"with the catalog every rule has its remediation", docs, func(id string) string { return "fix " + id }},
		{"without it a rule points to the controls reference", nil, func(string) string { return "docs/controls.md" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := report.Render(&buf, res, "sarif", report.RenderOptions{Docs: tt.docs}); err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Runs []struct {
					Tool struct {
						Driver struct {
							Rules []struct {
								ID              string `json:"id"`
								FullDescription struct {
									Text string `json:"text"`
								} `json:"fullDescription"`
								Help struct {
									Text string `json:"text"`
								} `json:"help"`
							} `json:"rules"`
						} `json:"driver"`
					} `json:"tool"`
				} `json:"runs"`
			}
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			rules := doc.Runs[0].Tool.Driver.Rules
			if len(rules) == 0 {
				t.Fatal("no rules")
			}
			for _, r := range rules {
				if !strings.Contains(r.Help.Text, tt.wantHelp(r.ID)) {
					t.Errorf("rule %s help %q lacks %q", r.ID, r.Help.Text, tt.wantHelp(r.ID))
				}
				if tt.docs != nil && r.FullDescription.Text != "risk of "+r.ID {
					t.Errorf("rule %s full description %q, want the catalog's risk", r.ID, r.FullDescription.Text)
				}
			}
		})
	}
}
