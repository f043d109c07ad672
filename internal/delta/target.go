// Matching two results to one gateway: names, ingest hosts, the old host:port default names.

package delta

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/hardgate/hardgate/internal/result"
)

// SameTarget reports whether two results audited the same gateway: the
// target names must be equal and, when both list ingest URLs, at least one
// host must be shared. Scheme and port may differ, since moving ingest from
// http://host:8080 to https://host:8443 is the hardening being measured.
// The reason explains a mismatch.
func SameTarget(a, b result.Target) (bool, string) {
	if targetName(a.Name) != targetName(b.Name) {
		return false, fmt.Sprintf("target %q is not target %q", a.Name, b.Name)
	}
	if len(a.IngestURLs) == 0 || len(b.IngestURLs) == 0 {
		return true, ""
	}
	ha, hb := hosts(a.IngestURLs), hosts(b.IngestURLs)
	for h := range ha {
		if hb[h] {
			return true, ""
		}
	}
	return false, fmt.Sprintf("target %q: ingest URLs %s and %s share no host", a.Name,
		strings.Join(a.IngestURLs, ", "), strings.Join(b.IngestURLs, ", "))
}

// targetName drops the port of a name that is host:port: results written
// before the default name became the bare host still compare with newer
// ones ("127.0.0.1:8443" is "127.0.0.1").
func targetName(name string) string {
	host, port, err := net.SplitHostPort(name)
	if err != nil || host == "" {
		return name
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return name
	}
	return host
}

func hosts(urls []string) map[string]bool {
	out := map[string]bool{}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Hostname() == "" {
			out[strings.ToLower(raw)] = true
			continue
		}
		out[strings.ToLower(u.Hostname())] = true
	}
	return out
}
