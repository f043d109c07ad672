package audit

import (
	"bytes"
	"path/filepath"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hardgate/hardgate/internal/result"
)

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// validateResult checks res against docs/result.schema.json.
func validateResult(t *testing.T, res *result.Result) {
	t.Helper()
	schemaOnce.Do(func() {
		c := jsonschema.NewCompiler()
		schema, schemaErr = c.Compile(filepath.Join("..", "..", "docs", "result.schema.json"))
	})
	if schemaErr != nil {
		t.Fatalf("compile result schema: %v", schemaErr)
	}
	var buf bytes.Buffer
	if err := result.Encode(&buf, res); err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Fatalf("result does not match docs/result.schema.json: %v", err)
	}
}

func TestTheSchemaRejectsAResultMissingItsSummary(t *testing.T) {
	res := &result.Result{SchemaVersion: result.SchemaVersion, Tool: result.Tool{Name: "hardgate"}}
	c := jsonschema.NewCompiler()
	sch, err := c.Compile(filepath.Join("..", "..", "docs", "result.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_ = result.Encode(&buf, res)
	inst, _ := jsonschema.UnmarshalJSON(&buf)
	if err := sch.Validate(inst); err == nil {
		t.Fatal("an empty result validated against the schema")
	}
}
