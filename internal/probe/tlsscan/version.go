package tlsscan

import "fmt"

// Version is a TLS protocol version as it appears on the wire.
type Version uint16

// Protocol versions the scanner enumerates.
const (
	VersionSSL30 Version = 0x0300
	VersionTLS10 Version = 0x0301
	VersionTLS11 Version = 0x0302
	VersionTLS12 Version = 0x0303
	VersionTLS13 Version = 0x0304
)

// AllVersions is every version the scanner probes, oldest first.
var AllVersions = []Version{VersionSSL30, VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13}

// String returns the OpenSSL/sslscan spelling ("TLSv1.2").
func (v Version) String() string {
	switch v {
	case VersionSSL30:
		return "SSLv3"
	case VersionTLS10:
		return "TLSv1.0"
	case VersionTLS11:
		return "TLSv1.1"
	case VersionTLS12:
		return "TLSv1.2"
	case VersionTLS13:
		return "TLSv1.3"
	}
	return fmt.Sprintf("0x%04x", uint16(v))
}

// ParseVersion reads "SSLv3", "TLSv1.0"/"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3".
func ParseVersion(s string) (Version, error) {
	switch s {
	case "SSLv3":
		return VersionSSL30, nil
	case "TLSv1.0", "TLSv1":
		return VersionTLS10, nil
	case "TLSv1.1":
		return VersionTLS11, nil
	case "TLSv1.2":
		return VersionTLS12, nil
	case "TLSv1.3":
		return VersionTLS13, nil
	}
	return 0, fmt.Errorf("unknown TLS version %q", s)
}
