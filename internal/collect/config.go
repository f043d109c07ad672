package collect

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/hardgate/hardgate/internal/probe/ingestdconf"
	"github.com/hardgate/hardgate/internal/probe/mosquitto"
	"github.com/hardgate/hardgate/internal/result"
	"github.com/hardgate/hardgate/internal/spec"
)

// readConfig reads the gateway config of kind at path. A file that cannot
// be read or parsed is an observation (Err set); only an unknown kind is an
// error. It returns the files read with their digests.
// Every file is read through localfile (regular files only) within ctx.
func readConfig(ctx context.Context, path, kind string) (*ConfigObservation, []result.ConfigFile, error) {
	co := &ConfigObservation{Path: path, Kind: kind}
	switch kind {
	case spec.KindIngestd:
		f, err := ingestdconf.Read(ctx, path)
		if err != nil {
			co.Err = err
			return co, nil, nil
		}
		co.Ingestd = f
		return co, []result.ConfigFile{{Path: path, Kind: kind, SHA256: f.SHA256}}, nil
	case spec.KindMosquitto:
		c, err := mosquitto.LoadContext(ctx, path)
		if err != nil {
			co.Err = err
			return co, nil, nil
		}
		co.Mosquitto = c
		files := make([]result.ConfigFile, len(c.Files))
		for i, f := range c.Files {
			files[i] = result.ConfigFile{Path: f, Kind: kind, SHA256: c.SHA256[i]}
		}
		co.ACLs = readACLs(ctx, c)
		for _, p := range slices.Sorted(maps.Keys(co.ACLs)) {
			if a := co.ACLs[p].ACL; a != nil {
				files = append(files, result.ConfigFile{Path: p, Kind: KindMosquittoACL, SHA256: a.SHA256})
			}
		}
		return co, files, nil
	}
	return nil, nil, fmt.Errorf("gateway.kind %q: no reader", kind)
}

// KindMosquittoACL is the kind of an acl_file in the config files of a result.
const KindMosquittoACL = "mosquitto_acl"

// readACLs reads every acl_file a listener of c has in force, each once:
// a file that cannot be read or parsed is an observation (Err set).
func readACLs(ctx context.Context, c *mosquitto.Config) map[string]*ACLObservation {
	out := map[string]*ACLObservation{}
	for _, p := range c.Postures() {
		if p.ACLFile == nil {
			continue
		}
		path := p.ACLFile.Path()
		if _, done := out[path]; done {
			continue
		}
		a, err := mosquitto.LoadACLContext(ctx, path)
		out[path] = &ACLObservation{Path: path, ACL: a, Err: err}
	}
	return out
}
