package agent

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compileSchema compiles docs/<name>, with the result schema it refers to.
func compileSchema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "result.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("https://hardgate.dev/schema/result-1.1.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(filepath.Join("..", "..", "docs", name))
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return s
}

func validates(t *testing.T, s *jsonschema.Schema, data []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(inst)
}

func TestMessagesMatchTheirSchemas(t *testing.T) {
	jobSchema := compileSchema(t, "agent-job.schema.json")
	resSchema := compileSchema(t, "agent-result.schema.json")
	if err := validates(t, jobSchema, validJob(t)); err != nil {
		t.Errorf("a job does not match docs/agent-job.schema.json: %v", err)
	}
	dl, _ := EncodeDeadLetter(&DeadLetter{SchemaVersion: JobSchemaVersion, JobID: "job-1", Site: "north", Target: "gw",
		Attempts: 3, Reason: "no result after 3 attempts", Agent: "n1", At: time.Now().UTC()})
	if err := validates(t, jobSchema, dl); err != nil {
		t.Errorf("a dead letter does not match docs/agent-job.schema.json: %v", err)
	}
	if err := validates(t, resSchema, validResult(t)); err != nil {
		t.Errorf("a result message does not match docs/agent-result.schema.json: %v", err)
	}
	errMsg, _ := EncodeResult(&ResultMsg{SchemaVersion: ResultSchemaVersion, JobID: "job-1", AuditID: "hg-1", Site: "north",
		Agent: "n1", AgentVersion: "test", Attempt: 1, Outcome: OutcomeError, Error: "ingest.token_env: not set"})
	if err := validates(t, resSchema, errMsg); err != nil {
		t.Errorf("an error result message does not match: %v", err)
	}
	bad := edit(t, validJob(t), func(m map[string]any) {
		m["target"].(map[string]any)["ingest"].(map[string]any)["token"] = "s3cret"
	})
	if err := validates(t, jobSchema, bad); err == nil {
		t.Errorf("the job schema accepts an inline token")
	}
	noResult := edit(t, validResult(t), func(m map[string]any) { delete(m, "result") })
	if err := validates(t, resSchema, noResult); err == nil {
		t.Errorf("the result schema accepts an audited message without a result")
	}
}
