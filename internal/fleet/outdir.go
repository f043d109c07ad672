package fleet

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hardgate/hardgate/internal/report"
	"github.com/hardgate/hardgate/internal/result"
)

// Names of the files in a fleet's output folder.
const (
	ResultsDir  = "results"
	SummaryJSON = "fleet.json"
	SummaryHTML = "fleet.html"
	SummaryMD   = "fleet.md"
)

// OutDir is a fleet's output folder: results/<name>.json and .html per
// target, fleet.json, fleet.html and fleet.md. Folders are private (0700),
// files 0600, each written to a temporary file in its folder and renamed
// over its name, so a reader never sees half a file and no write follows
// a symlink.
type OutDir struct {
	dir string
}

// OpenOutDir creates dir and dir/results (0700) when missing. It refuses
// a dir or results folder that is a symlink or not a folder.
func OpenOutDir(dir string) (*OutDir, error) {
	for _, p := range []string{dir, filepath.Join(dir, ResultsDir)} {
		if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			if errors.Is(err, fs.ErrNotExist) {
				err = os.MkdirAll(p, 0o700)
			}
			if err != nil {
				return nil, fmt.Errorf("output folder: %w", err)
			}
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return nil, fmt.Errorf("output folder: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("output folder: %s is not a folder (a symlink is refused)", p)
		}
	}
	return &OutDir{dir: dir}, nil
}

// Dir is the folder's path.
func (d *OutDir) Dir() string { return d.dir }

// WriteResult writes a target's result as results/<name>.json and its
// HTML report as results/<name>.html, and returns both paths relative to
// the folder. name must be a fleet name (spec.Fleet.Validate checks it).
func (d *OutDir) WriteResult(name string, res *result.Result) (jsonPath, htmlPath string, err error) {
	if filepath.Base(name) != name || name == "." || name == ".." {
		return "", "", fmt.Errorf("write result: %q is not a file name", name)
	}
	jsonPath = filepath.ToSlash(filepath.Join(ResultsDir, name+".json"))
	htmlPath = filepath.ToSlash(filepath.Join(ResultsDir, name+".html"))
	if err := d.write(jsonPath, func(w io.Writer) error { return result.Encode(w, res) }); err != nil {
		return "", "", err
	}
	if err := d.write(htmlPath, func(w io.Writer) error { return report.Render(w, res, "html", report.RenderOptions{}) }); err != nil {
		return jsonPath, "", err
	}
	return jsonPath, htmlPath, nil
}

// WriteSummary writes fleet.json, fleet.html and fleet.md.
func (d *OutDir) WriteSummary(f *result.Fleet) error {
	files := []struct {
		name   string
		format string
	}{{SummaryJSON, "json"}, {SummaryHTML, "html"}, {SummaryMD, "md"}}
	for _, file := range files {
		if err := d.write(file.name, func(w io.Writer) error { return report.RenderFleet(w, f, file.format) }); err != nil {
			return err
		}
	}
	return nil
}

// write fills a temporary file beside rel and renames it over rel.
func (d *OutDir) write(rel string, fill func(io.Writer) error) error {
	path := filepath.Join(d.dir, filepath.FromSlash(rel))
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	bw := bufio.NewWriterSize(tmp, 64<<10)
	err = fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
