package mmclient

// Wire types of the Mattermost API v4 endpoints this client speaks. Decoding
// ignores unknown fields on purpose: servers of different eras add and drop
// fields (schema_version is new, is_oauth is old), see the API notes.

// Status values Mattermost reports for a user.
const (
	StatusOnline  = "online"
	StatusAway    = "away"
	StatusDND     = "dnd"
	StatusOffline = "offline"
	StatusOOO     = "ooo"
)

// KnownStatuses lists every status value Mattermost reports, in a stable order.
// It is an array so that len(KnownStatuses) is a constant.
var KnownStatuses = [...]string{StatusOnline, StatusAway, StatusDND, StatusOffline, StatusOOO}

// KnownStatus returns the KnownStatuses constant equal to s (a string or
// []byte; comparing does not allocate), so that decoded statuses share the
// constants' memory.
func KnownStatus[T string | []byte](s T) (string, bool) {
	for _, k := range KnownStatuses {
		if string(s) == k {
			return k, true
		}
	}
	return "", false
}

// Status is one user's status, as returned by POST /users/status/ids and
// GET/PUT /users/{id}/status.
type Status struct {
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	Manual         bool   `json:"manual"`
	LastActivityAt int64  `json:"last_activity_at"` // epoch milliseconds
	DNDEndTime     int64  `json:"dnd_end_time"`     // epoch seconds, 0 = none
	ActiveChannel  string `json:"active_channel,omitempty"`
}

// ClusterInfo is one node of GET /cluster/status. A node the cluster could not
// reach is listed with empty fields (all but id may be empty).
type ClusterInfo struct {
	ID            string `json:"id"`
	Version       string `json:"version"`
	SchemaVersion string `json:"schema_version"`
	ConfigHash    string `json:"config_hash"`
	IPAddress     string `json:"ipaddress"`
	Hostname      string `json:"hostname"`
}

// SAMLCertificateStatus is GET /saml/certificate/status. true means only "a
// file is configured and present", not "valid" or "unexpired".
type SAMLCertificateStatus struct {
	IDPCertificateFile    bool `json:"idp_certificate_file"`
	PrivateKeyFile        bool `json:"private_key_file"`
	PublicCertificateFile bool `json:"public_certificate_file"`
}

// User holds the fields of a user account that the exporter needs.
type User struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	CreateAt    int64  `json:"create_at"` // epoch ms, server clock
	DeleteAt    int64  `json:"delete_at"` // 0 = active
	IsBot       bool   `json:"is_bot"`
	AuthService string `json:"auth_service"`
	Roles       string `json:"roles"`
}

// UserStats is GET /users/stats: active users, bots included.
type UserStats struct {
	TotalUsersCount int64 `json:"total_users_count"`
}

// ServerVersion is parsed from the X-Version-Id response header:
// <major>.<minor>.<patch>.<build number, may contain dots>.<client config hash>.<licensed>
type ServerVersion struct {
	Version          string // x.y.z
	BuildNumber      string
	ClientConfigHash string
	Licensed         bool
	Raw              string
}
