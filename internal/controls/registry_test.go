package controls

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/hardgate/hardgate/internal/catalog"
	"github.com/hardgate/hardgate/internal/collect"
	"github.com/hardgate/hardgate/internal/probe/tlsscan"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/scoring"
)

func TestRegistryAndCatalogAgree(t *testing.T) {
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckRegistry(cat); err != nil {
		t.Fatal(err)
	}
	extra := &catalog.Catalog{}
	if err := CheckRegistry(extra); err == nil || !strings.Contains(err.Error(), "evaluation registered, not in the catalog") {
		t.Fatalf("an empty catalog should disagree with the registry, got %v", err)
	}
}

// judge runs the registered evaluation of id, with its catalog entry.
func judge(t *testing.T, id string, o *collect.Observations) scoring.Verdict {
	t.Helper()
	c, ok := testCatalog(t).Get(id)
	if !ok {
		t.Fatalf("%s is not in the catalog", id)
	}
	return registry[id].eval(o, c)
}

var (
	catOnce sync.Once
	cat     *catalog.Catalog
	catErr  error
)

func testCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	catOnce.Do(func() { cat, catErr = catalog.Load() })
	if catErr != nil {
		t.Fatal(catErr)
	}
	return cat
}

func TestCheckRegistryHoldsParamsToTheCatalog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		id     string
		mutate func(p map[string]catalog.Param, other catalog.Param)
		want   string
	}{
		{"a threshold the evaluation reads and the catalog lacks", "transport_tls.weak_key",
			func(p map[string]catalog.Param, _ catalog.Param) { delete(p, "min_rsa_bits") }, "reads param min_rsa_bits, the catalog does not set it"},
		{"a threshold of the wrong kind", "transport_tls.weak_key",
			func(p map[string]catalog.Param, list catalog.Param) { p["min_rsa_bits"] = list }, "param min_rsa_bits must be an integer"},
		{"a param no evaluation reads", "transport_tls.hostname_mismatch",
			func(p map[string]catalog.Param, list catalog.Param) { p["max_names"] = list }, "param max_names is set in the catalog, no evaluation reads it"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is a disagreement", func(t *testing.T) {
			cat, err := catalog.Load()
			if err != nil {
				t.Fatal(err)
			}
			c, _ := cat.Get(tt.id)
			if c.Params == nil {
				c.Params = map[string]catalog.Param{}
			}
			list := mustGet(t, cat, "transport_tls.weak_signature").Params["weak_signature_algorithms"]
			tt.mutate(c.Params, list)
			if err := CheckRegistry(cat); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckRegistry = %v, want %q", err, tt.want)
			}
		})
	}
}

func mustGet(t *testing.T, cat *catalog.Catalog, id string) *catalog.Control {
	t.Helper()
	c, ok := cat.Get(id)
	if !ok {
		t.Fatalf("%s not in the catalog", id)
	}
	return c
}

func TestThresholdsComeFromTheCatalog(t *testing.T) {
	t.Parallel()
	// The same 2048-bit DHE suite passes at the catalog's bar and fails
	// when the catalog raises it: the figure lives in the YAML, not in Go.
	obs := synthetic(func(r *tlsscan.Report) {
		s, _ := tlsscan.SuiteByID(0x009E)
		p := r.Protocol(tlsscan.VersionTLS12)
		p.Suites = append(p.Suites, tlsscan.AcceptedSuite{Version: tlsscan.VersionTLS12, Suite: s, DHBits: 2048})
	})
	cat, err := catalog.LoadFS(raisedDH(t), "controls")
	if err != nil {
		t.Fatal(err)
	}
	if v := judge(t, "transport_tls.weak_dh_group", obs); v.Status != result.StatusPass {
		t.Fatalf("at the shipped bar: %s (%s)", v.Status, v.Reason)
	}
	raised := mustGet(t, cat, "transport_tls.weak_dh_group")
	if v := registry[raised.ID].eval(obs, raised); v.Status != result.StatusFail || !strings.Contains(v.Reason, "DH 2048 bits") {
		t.Fatalf("at a raised bar: %s (%s)", v.Status, v.Reason)
	}
	if !strings.Contains(raised.Title, "3072-bit DH") {
		t.Errorf("the title does not cite the raised bar: %q", raised.Title)
	}
}

// raisedDH is the embedded catalog with min_dh_bits raised to 3072.
func raisedDH(t *testing.T) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	src := os.DirFS(filepath.Join("..", "catalog"))
	entries, err := fs.ReadDir(src, "controls")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := fs.ReadFile(src, "controls/"+e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "transport_tls.yaml" {
			data = bytes.Replace(data, []byte("min_dh_bits: 2048"), []byte("min_dh_bits: 3072"), 1)
		}
		fsys["controls/"+e.Name()] = &fstest.MapFile{Data: data}
	}
	return fsys
}
