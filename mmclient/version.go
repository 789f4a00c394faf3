package mmclient

import (
	"fmt"
	"strings"
)

// ParseVersionID parses an X-Version-Id header value,
// <major>.<minor>.<patch>.<build number>.<client config hash>.<licensed>:
// the first three dot-separated fields are the semantic version, the last
// one is the license flag ("true"/"false"), the one before it is the 32-hex
// client config hash, and whatever lies in between is the build number,
// which may itself contain dots (it must not be empty).
func ParseVersionID(s string) (ServerVersion, error) {
	bad := func(why string) (ServerVersion, error) {
		return ServerVersion{}, fmt.Errorf("malformed X-Version-Id %.80q: %s", s, why)
	}
	if s == "" {
		return bad("empty")
	}
	fields := strings.Split(s, ".")
	if len(fields) < 6 {
		return bad("want <x>.<y>.<z>.<build>.<config hash>.<licensed>")
	}
	for _, f := range fields[:3] {
		if f == "" || len(f) > 9 {
			return bad("version fields must be numbers")
		}
		for i := 0; i < len(f); i++ {
			if f[i] < '0' || f[i] > '9' {
				return bad("version fields must be numbers")
			}
		}
	}
	n := len(fields)
	var licensed bool
	switch fields[n-1] {
	case "true":
		licensed = true
	case "false":
	default:
		return bad("license flag must be true or false")
	}
	hash := fields[n-2]
	if len(hash) != 32 {
		return bad("client config hash must be 32 hex characters")
	}
	for i := 0; i < len(hash); i++ {
		if !isHex(hash[i]) {
			return bad("client config hash must be 32 hex characters")
		}
	}
	buildFields := fields[3 : n-2]
	for _, f := range buildFields {
		if f == "" {
			return bad("empty build number field")
		}
		for i := 0; i < len(f); i++ {
			if f[i] <= ' ' || f[i] >= 0x7f {
				return bad("build number must be printable ASCII without spaces")
			}
		}
	}
	return ServerVersion{
		Version:          strings.Join(fields[:3], "."),
		BuildNumber:      strings.Join(buildFields, "."),
		ClientConfigHash: hash,
		Licensed:         licensed,
		Raw:              s,
	}, nil
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
