package mmclient

import (
	"fmt"
	"strings"
)

// ParseVersionID parses an X-Version-Id header value,
// <major>.<minor>.<patch>.<build number>.<client config hash>.<licensed>:
// the first three dot-separated fields are the semantic version, the last
// one is the license flag ("true"/"false"), the one before it is the client
// config hash, and whatever lies in between is the build number, which may
// itself contain dots, or be empty (a server built with plain go build).
//
// The hash is opaque: 5.x servers send 32 hex characters (MD5), 11.x servers
// 64 (SHA-256), and a later one may change it again; any non-empty printable
// token of at most maxHashLen characters is accepted. The exporter needs the
// semantic version and the licensed flag, and is strict about those.
func ParseVersionID(s string) (ServerVersion, error) {
	bad := func(why string) (ServerVersion, error) {
		return ServerVersion{}, fmt.Errorf("malformed X-Version-Id %.80q: %s", s, why)
	}
	if s == "" {
		return bad("empty")
	}
	if len(s) > MaxVersionIDLen {
		return ServerVersion{}, fmt.Errorf("malformed X-Version-Id: %d bytes, more than %d", len(s), MaxVersionIDLen)
	}
	fields := strings.Split(s, ".")
	if len(fields) < 6 {
		return bad("want <x>.<y>.<z>.<build>.<config hash>.<licensed>")
	}
	for _, f := range fields[:3] {
		if f == "" || len(f) > 9 || strings.ContainsFunc(f, func(r rune) bool { return r < '0' || r > '9' }) {
			return bad("version fields must be numbers")
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
	if hash == "" || len(hash) > maxHashLen || !printableToken(hash) {
		return bad(fmt.Sprintf("client config hash must be 1 to %d printable characters", maxHashLen))
	}
	buildFields := fields[3 : n-2]
	if len(buildFields) == 1 && buildFields[0] == "" {
		// A server built without the Makefile (plain go build) has an
		// empty build number: "5.37.0..<hash>.false", seen on a real 5.37.
		buildFields = nil
	}
	for _, f := range buildFields {
		if f == "" {
			return bad("empty build number field")
		}
		if !printableToken(f) {
			return bad("build number must be printable ASCII without spaces")
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

// MaxVersionIDLen bounds an X-Version-Id header (real ones are under 120
// bytes); a longer one is rejected rather than carried into labels.
const MaxVersionIDLen = 256

// maxHashLen bounds the client config hash field.
const maxHashLen = 128

// printableToken reports whether s is printable ASCII without spaces.
func printableToken(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r >= 0x7f })
}
