package mqtt

import "fmt"

// connackText names a CONNACK return code (MQTT 3.1.1) or reason code
// (MQTT 5), as the specification does.
func connackText(version byte, code int) string {
	if version == Version311 {
		switch code {
		case 1:
			return "unacceptable protocol version"
		case 2:
			return "identifier rejected"
		case 3:
			return "server unavailable"
		case 4:
			return "bad user name or password"
		case 5:
			return "not authorized"
		}
		return "unknown return code"
	}
	switch code {
	case 0x80:
		return "unspecified error"
	case 0x84:
		return "unsupported protocol version"
	case 0x85:
		return "client identifier not valid"
	case 0x86:
		return "bad user name or password"
	case 0x87:
		return "not authorized"
	case 0x88:
		return "server unavailable"
	case 0x8A:
		return "banned"
	case 0x8C:
		return "bad authentication method"
	}
	return "refused"
}

func subackText(version byte, code int) string {
	if version == Version5 {
		switch code {
		case 0x87:
			return "not authorized"
		case 0x8F:
			return "topic filter invalid"
		case 0xA2:
			return "wildcard subscriptions not supported"
		}
	}
	return fmt.Sprintf("failure 0x%02x", code)
}
