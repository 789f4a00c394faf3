package mmtest

import (
	"fmt"
	"strings"
)

// Era selects which real Mattermost the fake reproduces. The zero value is
// Era537.
type Era int

const (
	// Era537 reproduces Mattermost 5.37 Team Edition
	// (testdata/real-mattermost): status lists answered with duplicates as
	// sent, request bodies up to FileSettings.MaxFileSize (100 MiB), every
	// ping value a string, Desktop* ping fields, AppError detailed_error
	// filled in (for example "UserRequired" on a 401).
	Era537 Era = iota
	// Era11 reproduces Mattermost 11.2 Team Edition
	// (testdata/current-mattermost): X-Version-Id with a 64-hex SHA-256
	// config hash, status lists deduplicated and sorted, request bodies over
	// MaximumPayloadSizeBytes+512 answered 413, a non-JSON id list answered
	// api.payload.parse.error, ping with ActiveSearchBackend and (for a
	// system admin asking get_server_status=true) "root_status": true, no
	// Desktop* fields, GET /license/client without format=old answered 400,
	// AppError detailed_error always empty, and the security headers
	// X-Content-Type-Options, Referrer-Policy and Permissions-Policy.
	Era11
)

// DefaultVersion11 is the X-Version-Id recorded from the real 11.2.0 Team
// Edition server; Era11's default.
const DefaultVersion11 = "11.2.0.11.2.0.cc2418492a0e65e2ee76e38279ee463874ff842fe741fe22f790b86fa9cb48f8.false"

// Default request body limits (Config.MaximumPayloadSizeBytes = 0): 5.37
// caps every body at FileSettings.MaxFileSize (100 MiB), 11.x non-file
// bodies at ServiceSettings.MaximumPayloadSizeBytes (300,000). Both servers
// allow 512 bytes more than the setting.
const (
	DefaultMaxPayload537 int64 = 100 << 20
	DefaultMaxPayload11  int64 = 300000
	payloadSlack               = 512
)

// String returns the era's name as the --era flag of cmd/fake-mattermost
// spells it: "5.37" or "11".
func (e Era) String() string {
	switch e {
	case Era537:
		return "5.37"
	case Era11:
		return "11"
	}
	return fmt.Sprintf("Era(%d)", int(e))
}

// ParseEra parses "5.37" or "11" (also "11.2"; "" means 5.37).
func ParseEra(s string) (Era, error) {
	switch strings.TrimSpace(s) {
	case "", "5.37":
		return Era537, nil
	case "11", "11.2":
		return Era11, nil
	}
	return Era537, fmt.Errorf("unknown Mattermost era %q (want 5.37 or 11)", s)
}

// Eras lists every era, oldest first.
func Eras() []Era { return []Era{Era537, Era11} }

// DefaultVersion returns the X-Version-Id the fake sends in era e when
// Config.Version is empty.
func (e Era) DefaultVersion() string {
	if e == Era11 {
		return DefaultVersion11
	}
	return DefaultVersion
}

// DefaultMaxPayload returns the body limit (without the 512-byte slack)
// the fake applies in era e when Config.MaximumPayloadSizeBytes is 0.
func (e Era) DefaultMaxPayload() int64 {
	if e == Era11 {
		return DefaultMaxPayload11
	}
	return DefaultMaxPayload537
}

// versionParts splits an X-Version-Id, <x.y.z>.<build number>.<config
// hash>.<licensed>, into the version and the build number (which may hold
// dots). The config hash is opaque (32 hex on 5.37, 64 on 11.x). ok is
// false when s has fewer than six fields.
func versionParts(s string) (version, build string, ok bool) {
	f := strings.Split(s, ".")
	if len(f) < 6 {
		return "", "", false
	}
	return strings.Join(f[:3], "."), strings.Join(f[3:len(f)-2], "."), true
}
