package mosquitto

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"

	"github.com/hardgate/hardgate/internal/localfile"
)

// ErrNotRegular is returned for an acl_file that is not a regular file (a
// FIFO, a device, a directory): reading one could block or never end. It
// is localfile's, the one reader of the files an audit names.
var ErrNotRegular = localfile.ErrNotRegular

// LoadACL reads and parses the acl_file at path. Only a regular file is
// read, and at most MaxFileBytes of it: anything else is refused before a
// byte is read.
func LoadACL(path string) (*ACL, error) { return LoadACLContext(context.Background(), path) }

// LoadACLContext is LoadACL bounded by ctx, through localfile (opened
// without blocking, the opened file checked, the read ended with ctx).
func LoadACLContext(ctx context.Context, path string) (*ACL, error) {
	data, err := localfile.Read(ctx, path, MaxFileBytes)
	if err != nil {
		return nil, fmt.Errorf("open acl_file: %w", err)
	}
	return ParseACL(bytes.NewReader(data), path)
}

// Path is the file a directive names (acl_file, password_file): as written
// when absolute, else relative to the folder of the config file it stands
// in. Mosquitto itself opens a relative path from its working directory,
// which an auditor does not know; the config's folder is the usual one.
func (d Directive) Path() string {
	if filepath.IsAbs(d.Value) {
		return d.Value
	}
	return filepath.Join(filepath.Dir(d.File), d.Value)
}
