package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/report/reporttest"
	"github.com/hardgate/hardgate/internal/result"
)

// runSub runs one hardgate command line and returns its exit code and output.
func runSub(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// resultFiles writes the worked example's results and some broken ones.
type resultFiles struct {
	dir, before, after, truncated, wrongVersion, otherTarget, missing, notJSON string
}

func writeResultFiles(t *testing.T) resultFiles {
	t.Helper()
	dir := t.TempDir()
	enc := func(res *result.Result) []byte {
		var b bytes.Buffer
		if err := result.Encode(&b, res); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	put := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	before := enc(reporttest.WorkedExampleBefore())
	other := reporttest.WorkedExampleAfter()
	other.Target.Name = "another-gateway"
	return resultFiles{
		dir:          dir,
		before:       put("before.json", before),
		after:        put("after.json", enc(reporttest.WorkedExampleAfter())),
		truncated:    put("truncated.json", before[:len(before)/2]),
		wrongVersion: put("v2.json", bytes.Replace(before, []byte(`"schema_version": "`+result.SchemaVersion+`"`), []byte(`"schema_version": "2.0"`), 1)),
		otherTarget:  put("other.json", enc(other)),
		missing:      filepath.Join(dir, "missing.json"),
		notJSON:      put("notes.txt", []byte("not a result\n")),
	}
}

func TestReportCommandRendersEveryFormat(t *testing.T) {
	files := writeResultFiles(t)
	for _, format := range report.Formats() {
		t.Run("report --format "+format+" prints what the renderer writes", func(t *testing.T) {
			code, out, errOut := runSub(t, "report", files.before, "--format", format)
			if code != exitOK {
				t.Fatalf("exit %d, stderr %s", code, errOut)
			}
			var want bytes.Buffer
			if err := report.Render(&want, reporttest.WorkedExampleBefore(), format, renderOptions(false)); err != nil {
				t.Fatal(err)
			}
			if out != want.String() {
				t.Errorf("output differs from report.Render")
			}
		})
	}
	t.Run("report --out writes the file and nothing to stdout", func(t *testing.T) {
		dst := filepath.Join(files.dir, "after.html")
		code, out, errOut := runSub(t, "report", "--format", "html", "--out", dst, files.after)
		if code != exitOK || out != "" {
			t.Fatalf("exit %d, stdout %q, stderr %s", code, out, errOut)
		}
		data, err := os.ReadFile(dst)
		if err != nil || !bytes.Contains(data, []byte("<!DOCTYPE html>")) {
			t.Fatalf("html file: %v, %.60q", err, data)
		}
	})
	t.Run("report --color always paints the text summary", func(t *testing.T) {
		_, out, _ := runSub(t, "report", files.before, "--color", "always")
		if !strings.Contains(out, "\x1b[") {
			t.Error("no colour")
		}
	})
}

func TestReportCommandRefusesBadInput(t *testing.T) {
	files := writeResultFiles(t)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"a missing file", []string{"report", files.missing}, "no such file"},
		{"truncated JSON", []string{"report", files.truncated, "--format", "md"}, "parse result"},
		{"a foreign schema version", []string{"report", files.wrongVersion}, `unsupported result schema version: "2.0"`},
		{"a file that is not JSON", []string{"report", files.notJSON}, "parse result"},
		{"an unknown format", []string{"report", files.before, "--format", "pdf"}, `--format "pdf": must be one of`},
		{"no result file", []string{"report"}, "want exactly one RESULT.json"},
		{"two result files", []string{"report", files.before, files.after}, "want exactly one RESULT.json"},
		{"an unknown flag", []string{"report", "--colour", "never", files.before}, "flag provided but not defined"},
		{"a bad colour choice", []string{"report", files.before, "--color", "sometimes"}, "--color"},
		{"an output file in a missing directory", []string{"report", files.before, "--out", filepath.Join(files.dir, "no", "such", "dir.md")}, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name+" exits 2 with a clear error", func(t *testing.T) {
			code, out, errOut := runSub(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("stderr %q does not mention %q", errOut, tc.wantErr)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
	t.Run("--help shows examples and exits 0", func(t *testing.T) {
		code, _, errOut := runSub(t, "report", "--help")
		if code != exitOK || !strings.Contains(errOut, "Examples:") {
			t.Errorf("exit %d, help %q", code, errOut)
		}
	})
}
