package controls

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/hardgate/hardgate/"

// repoRoot is the module root, two levels above this package.
var repoRoot = filepath.Join("..", "..")

func readDoc(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestArchitectureDocNamesWhatExists: every path docs/architecture.md
// names exists, and every package of the audit side (everything under
// internal/ but ingestd's internal/gateway) is named in it.
func TestArchitectureDocNamesWhatExists(t *testing.T) {
	t.Parallel()
	doc := readDoc(t, "architecture.md")
	named := map[string]bool{}
	for _, p := range regexp.MustCompile(`(?:internal|cmd|examples)/[A-Za-z0-9_./<>-]*[A-Za-z0-9_>]`).FindAllString(doc, -1) {
		if strings.Contains(p, "<") {
			p = p[:strings.Index(p, "<")]
		}
		p = strings.TrimSuffix(strings.TrimSuffix(p, "..."), "/")
		named[p] = true
		if _, err := os.Stat(filepath.Join(repoRoot, p)); err != nil {
			t.Errorf("docs/architecture.md names %s, which does not exist", p)
		}
	}
	err := filepath.WalkDir(filepath.Join(repoRoot, "internal"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(repoRoot, path)
		if strings.HasPrefix(rel, filepath.Join("internal", "gateway")) || d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if goFiles(t, path) > 0 && !named[filepath.ToSlash(rel)] {
			t.Errorf("package %s is not in docs/architecture.md", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func goFiles(t *testing.T, dir string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

// TestArchitectureImportRules checks the rules table of docs/architecture.md
// against the imports of every non-test file.
func TestArchitectureImportRules(t *testing.T) {
	t.Parallel()
	rules := []struct {
		pkg       string
		forbidden func(imp string) bool
		what      string
	}{
		{"internal/result", func(imp string) bool { return strings.HasPrefix(imp, module) }, "any hardgate package"},
		{"internal/probe/...", func(imp string) bool {
			return slices.Contains([]string{"internal/report", "internal/audit", "internal/controls", "internal/collect", "internal/catalog"}, strings.TrimPrefix(imp, module))
		}, "a renderer, the catalog or a later stage"},
		{"internal/catalog", func(imp string) bool { return imp == module+"internal/report" }, "the renderers"},
		{"internal/controls", func(imp string) bool {
			return slices.Contains([]string{"os", "io/fs", "net/http", "os/exec", "crypto/tls"}, imp)
		}, "I/O"},
		{"internal/spec", func(imp string) bool {
			rel := strings.TrimPrefix(imp, module)
			return rel == "internal/collect" || strings.HasPrefix(rel, "internal/probe") || imp == "net/http" || imp == "crypto/x509"
		}, "what reads or probes"},
	}
	doc := readDoc(t, "architecture.md")
	for _, r := range rules {
		t.Run(r.pkg+" imports no "+r.what, func(t *testing.T) {
			if !strings.Contains(doc, "| `"+r.pkg+"` |") {
				t.Errorf("docs/architecture.md has no rule row for %s", r.pkg)
			}
			for file, imp := range imports(t, r.pkg) {
				if r.forbidden(imp) {
					t.Errorf("%s imports %s", file, imp)
				}
			}
		})
	}
}

// imports maps "file import" keys of the non-test files of pkg (a trailing
// /... includes its subpackages) to each import path.
func imports(t *testing.T, pkg string) map[string]string {
	t.Helper()
	out := map[string]string{}
	root := filepath.Join(repoRoot, strings.TrimSuffix(pkg, "/..."))
	recursive := strings.HasSuffix(pkg, "/...")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (!recursive || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.Contains(path, "test"+string(filepath.Separator)) {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, spec := range f.Imports {
			imp, _ := strconv.Unquote(spec.Path.Value)
			out[path+" "+imp] = imp
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no imports read under %s", root)
	}
	return out
}

// TestEveryControlIsEvaluatedAndDocumented: each catalog control has a
// registered evaluation and a section in docs/controls.md, and the
// registry has nothing else.
func TestEveryControlIsEvaluatedAndDocumented(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	doc := readDoc(t, "controls.md")
	for _, id := range cat.IDs() {
		t.Run(id, func(t *testing.T) {
			if _, ok := registry[id]; !ok {
				t.Error("no evaluation registered")
			}
			if !strings.Contains(doc, "\n## "+id+"\n") {
				t.Error("no section in docs/controls.md")
			}
		})
	}
	if len(registry) != len(cat.IDs()) {
		t.Errorf("%d evaluations registered for %d catalog controls", len(registry), len(cat.IDs()))
	}
}
