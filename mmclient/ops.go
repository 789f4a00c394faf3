package mmclient

// Calls about what takes a Mattermost server down: the deep health check,
// the license, background jobs, plugins and the system console analytics.
// Every call goes through c.do (deadline, body cap, 429 handling, token
// redaction, Observer counts) like the calls of endpoints.go.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Endpoint names of the calls in this file (see the Endpoint* constants of
// client.go).
const (
	// EndpointServerHealth is GET /system/ping?get_server_status=true: a
	// ping that also writes to the database and tests the file store.
	EndpointServerHealth   = "system_ping_server_status"
	EndpointLicense        = "license_client"
	EndpointJobs           = "jobs"
	EndpointPluginStatuses = "plugins_statuses"
	EndpointAnalytics      = "analytics_old"
	// EndpointSAMLMetadata is GET /saml/metadata: the service provider
	// metadata (XML) Mattermost gives to the IdP.
	EndpointSAMLMetadata = "saml_metadata"
	// EndpointConfig is GET /config: the whole server config (system
	// admins). Mattermost writes an audit record for every call.
	EndpointConfig = "config"
)

// Response body caps of the calls of this file (decoded bytes; see the
// maxBody* constants of client.go). Real answers: the deep ping ~200 bytes,
// the license map ~1.5 KB, a job 0.3-0.7 KB (its "data" strings can be
// longer), a plugin status ~0.4 KB plus its error text, an analytics row ~40
// bytes.
const (
	maxBodyPerJob          = 16 << 10
	maxBodyPerPluginStatus = 8 << 10
	maxBodyPerAnalyticsRow = 256
	// The SP metadata is ~2-5 KB (one or two certificates).
	maxBodySAMLMetadata = 256 << 10
	// The whole config is 30-60 KB; plugin settings can make it larger.
	maxBodyConfig = 4 << 20
)

// Health status values of the ping's status fields.
const (
	HealthOK        = "OK"
	HealthUnhealthy = "UNHEALTHY"
)

// ServerHealth is the answer of GET /system/ping?get_server_status=true.
// A field the server did not send is "" (DatabaseStatus and FilestoreStatus
// are absent on a server that ignored get_server_status).
type ServerHealth struct {
	Status              string // "OK" or "UNHEALTHY": the whole server
	DatabaseStatus      string // "OK" or "UNHEALTHY": a write and delete in the database
	FilestoreStatus     string // "OK" or "UNHEALTHY": a connection test of the file store
	ActiveSearchBackend string // e.g. "database"; current servers only
	// RootStatus is true when Mattermost runs as root; only reported to a
	// session with manage_system on current servers (HasRootStatus).
	RootStatus    bool
	HasRootStatus bool
	// HTTPStatus is the answer's status code: 500 from a server that
	// predates use_rest_semantics and reports itself unhealthy.
	HTTPStatus int
}

// GetServerHealth calls GET /system/ping?get_server_status=true&use_rest_semantics=true.
// It needs no session. Current servers (9.6+) answer an unhealthy state with
// HTTP 200; older ones answer HTTP 500 with the same body, which is returned
// as a *ServerHealth too (not as an error). Any other answer is an error.
//
// The call writes to Mattermost's database and tests its file store: call
// it sparingly.
func (c *Client) GetServerHealth(ctx context.Context) (*ServerHealth, error) {
	var out *ServerHealth
	err := c.do(ctx, request{
		endpoint:   EndpointServerHealth,
		method:     http.MethodGet,
		path:       "/system/ping",
		query:      "get_server_status=true&use_rest_semantics=true",
		passStatus: http.StatusInternalServerError,
		maxBody:    maxBodySmall,
	}, func(resp *http.Response, body io.Reader) error {
		data, err := readAll(body)
		if err != nil {
			return err
		}
		h, derr := decodeServerHealth(data)
		if resp.StatusCode != http.StatusOK {
			if derr != nil || h.Status == "" {
				// An AppError (or a proxy's page), not a ping body.
				return c.apiError(EndpointServerHealth, resp.StatusCode, resp.Header, data)
			}
		} else if derr != nil {
			return derr
		}
		if h.Status == "" {
			return errors.New("decode response: no status field")
		}
		h.HTTPStatus = resp.StatusCode
		// Values become label values or comparisons: keep them short.
		h.Status = c.excerpt([]byte(h.Status), 64)
		h.DatabaseStatus = c.excerpt([]byte(h.DatabaseStatus), 64)
		h.FilestoreStatus = c.excerpt([]byte(h.FilestoreStatus), 64)
		out = h
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// decodeServerHealth reads the ping object tolerantly: 5.37 sends only
// strings, current servers mix in a boolean (root_status); a key of an
// unexpected type is ignored rather than failing the whole answer.
func decodeServerHealth(data []byte) (*ServerHealth, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	if raw == nil {
		return nil, errors.New("decode response: not a JSON object")
	}
	str := func(key string) string {
		var s string
		if v, ok := raw[key]; ok && json.Unmarshal(v, &s) == nil {
			return s
		}
		return ""
	}
	h := &ServerHealth{
		Status:              str("status"),
		DatabaseStatus:      str("database_status"),
		FilestoreStatus:     str("filestore_status"),
		ActiveSearchBackend: str("ActiveSearchBackend"),
	}
	if v, ok := raw["root_status"]; ok {
		var b bool
		if json.Unmarshal(v, &b) == nil {
			h.RootStatus, h.HasRootStatus = b, true
		} else if s := ""; json.Unmarshal(v, &s) == nil {
			if pb, err := strconv.ParseBool(s); err == nil {
				h.RootStatus, h.HasRootStatus = pb, true
			}
		}
	}
	return h, nil
}

// License is GET /license/client?format=old. The server sends every value
// as a string ("true", "1735689600000"); the Has* fields say whether a value
// was present and well-formed. A caller without the license-reading
// permission (manage_system on 5.x, read_license_information on current
// servers; system admins have both) gets a sanitized map without the dates
// (and, on some versions, without SkuShortName).
type License struct {
	IsLicensed   bool
	SkuShortName string // e.g. "enterprise", "professional", "E20"
	IsTrial      bool
	HasIsTrial   bool
	Users        int64 // licensed seats
	HasUsers     bool
	StartsAt     time.Time
	HasStartsAt  bool
	ExpiresAt    time.Time
	HasExpiresAt bool
}

// flexString decodes a JSON string, number or boolean as its text; other
// values (and null) leave it empty.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case 't', 'f', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		*f = flexString(b)
	}
	return nil
}

// GetClientLicense calls GET /license/client?format=old (without format,
// 5.x answers 501 and current servers 400). No session is needed; what is
// returned depends on the caller's permissions (see License).
func (c *Client) GetClientLicense(ctx context.Context) (*License, error) {
	var out License
	err := c.do(ctx, request{endpoint: EndpointLicense, method: http.MethodGet, path: "/license/client", query: "format=old", maxBody: maxBodySmall},
		func(_ *http.Response, body io.Reader) error {
			var raw struct {
				IsLicensed   *flexString `json:"IsLicensed"`
				SkuShortName flexString  `json:"SkuShortName"`
				IsTrial      *flexString `json:"IsTrial"`
				Users        *flexString `json:"Users"`
				StartsAt     *flexString `json:"StartsAt"`
				ExpiresAt    *flexString `json:"ExpiresAt"`
			}
			if err := c.decodeJSONObject(body, &raw); err != nil {
				return err
			}
			if raw.IsLicensed == nil {
				return errors.New("decode response: no IsLicensed field")
			}
			licensed, err := strconv.ParseBool(string(*raw.IsLicensed))
			if err != nil {
				return fmt.Errorf("decode response: IsLicensed %q is not a boolean", c.excerpt([]byte(*raw.IsLicensed), 40))
			}
			out.IsLicensed = licensed
			out.SkuShortName = c.excerpt([]byte(raw.SkuShortName), 64)
			if raw.IsTrial != nil {
				if b, err := strconv.ParseBool(string(*raw.IsTrial)); err == nil {
					out.IsTrial, out.HasIsTrial = b, true
				}
			}
			if raw.Users != nil {
				if n, err := strconv.ParseInt(string(*raw.Users), 10, 64); err == nil && n >= 0 {
					out.Users, out.HasUsers = n, true
				}
			}
			out.StartsAt, out.HasStartsAt = parseMillis(raw.StartsAt)
			out.ExpiresAt, out.HasExpiresAt = parseMillis(raw.ExpiresAt)
			return nil
		})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// parseMillis parses an epoch-milliseconds string; 0, negative or garbage
// values count as absent.
func parseMillis(v *flexString) (time.Time, bool) {
	if v == nil {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(string(*v), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(n), true
}

// Job status values (model/job.go, both eras).
const (
	JobStatusPending         = "pending"
	JobStatusInProgress      = "in_progress"
	JobStatusSuccess         = "success"
	JobStatusError           = "error"
	JobStatusCancelRequested = "cancel_requested"
	JobStatusCanceled        = "canceled"
	JobStatusWarning         = "warning"
)

// KnownJobStatuses lists every job status Mattermost sets, in a stable order.
var KnownJobStatuses = [...]string{
	JobStatusPending, JobStatusInProgress, JobStatusSuccess, JobStatusError,
	JobStatusCancelRequested, JobStatusCanceled, JobStatusWarning,
}

// Job is one element of GET /jobs. Its "data" map (job-specific strings,
// possibly large) is not decoded.
type Job struct {
	ID             string `json:"id"`
	Type           string `json:"type"`
	Priority       int64  `json:"priority"`
	CreateAt       int64  `json:"create_at"`        // epoch ms
	StartAt        int64  `json:"start_at"`         // epoch ms, 0 = not started
	LastActivityAt int64  `json:"last_activity_at"` // epoch ms: last progress or status change
	Status         string `json:"status"`
	Progress       int64  `json:"progress"` // percent; -1 when unknown
}

// GetJobs calls GET /jobs?page=0&per_page=perPage: the newest jobs of every
// type the caller may read (system admins: all), newest first. perPage is
// clamped to 1..MaxPerPage (the server clamps to 200 too). A non-admin gets
// HTTP 403.
func (c *Client) GetJobs(ctx context.Context, perPage int) ([]Job, error) {
	return getList[Job](ctx, c, EndpointJobs, "/jobs", "", 0, perPage, maxBodyPerJob)
}

// Plugin states of GET /plugins/statuses (model/plugin_status.go, both eras).
const (
	PluginStateNotRunning          = 0
	PluginStateStarting            = 1
	PluginStateRunning             = 2
	PluginStateFailedToStart       = 3
	PluginStateFailedToStayRunning = 4
	PluginStateStopping            = 5
)

// PluginStateNames maps every plugin state to its name; the index is the
// state number.
var PluginStateNames = [...]string{
	PluginStateNotRunning:          "not_running",
	PluginStateStarting:            "starting",
	PluginStateRunning:             "running",
	PluginStateFailedToStart:       "failed_to_start",
	PluginStateFailedToStayRunning: "failed_to_stay_running",
	PluginStateStopping:            "stopping",
}

// PluginStatus is one element of GET /plugins/statuses: one plugin on one
// cluster node (ClusterID is "" on a server that is not clustered).
type PluginStatus struct {
	PluginID  string `json:"plugin_id"`
	ClusterID string `json:"cluster_id"`
	State     int    `json:"state"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	Error     string `json:"error"`
}

// DefaultMaxPluginStatuses bounds GET /plugins/statuses when no MaxItems
// option is given (one element per plugin per node: 200 plugins on 10
// nodes).
const DefaultMaxPluginStatuses = 2000

// GetPluginStatuses calls GET /plugins/statuses. With plugins disabled
// (PluginSettings.Enable=false) the server answers 501 whatever the
// caller's role: see IsPluginsDisabled. Otherwise it needs
// sysconsole_read_plugins (system admins).
func (c *Client) GetPluginStatuses(ctx context.Context, opts ...ListOption) ([]PluginStatus, error) {
	limit := maxItems(opts, DefaultMaxPluginStatuses)
	return getArray[PluginStatus](ctx, c, request{endpoint: EndpointPluginStatuses, method: http.MethodGet, path: "/plugins/statuses",
		maxBody: maxBodyBase + int64(limit)*maxBodyPerPluginStatus}, limit)
}

// PluginsDisabledErrorID is the AppError id of the 501 answered while
// plugins are disabled.
const PluginsDisabledErrorID = "app.plugin.disabled.app_error"

// IsPluginsDisabled reports whether err is the 501 a server answers to a
// plugin call while plugins are disabled.
func IsPluginsDisabled(err error) bool {
	return hasAppError(err, http.StatusNotImplemented, PluginsDisabledErrorID)
}

// AnalyticsRow is one {"name","value"} row of GET /analytics/old.
type AnalyticsRow struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// DefaultMaxAnalyticsRows bounds GET /analytics/old (the standard set has 11
// rows; the per-day sets about 30).
const DefaultMaxAnalyticsRows = 1000

// GetAnalytics calls GET /analytics/old?name=<name> (system admins; others
// get HTTP 403). name is a lowercase word such as "standard". Counting posts
// makes the standard set expensive on large servers: call it sparingly.
// A row with value -1 means the server skipped that count.
func (c *Client) GetAnalytics(ctx context.Context, name string) ([]AnalyticsRow, error) {
	if name == "" || len(name) > 64 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz_") != "" {
		return nil, fmt.Errorf("%s: invalid analytics name %.40q", EndpointAnalytics, name)
	}
	return getArray[AnalyticsRow](ctx, c, request{endpoint: EndpointAnalytics, method: http.MethodGet, path: "/analytics/old", query: "name=" + name,
		maxBody: maxBodyBase + DefaultMaxAnalyticsRows*maxBodyPerAnalyticsRow}, DefaultMaxAnalyticsRows)
}

// SAMLNotAvailableErrorID is the AppError id of the 501 GET /saml/metadata
// answers when SAML is not configured or not supported (Team Edition).
const SAMLNotAvailableErrorID = "api.admin.saml.not_available.app_error"

// IsSAMLNotConfigured reports whether err is the 501 of a SAML call on a
// server where SAML is not configured or not supported.
func IsSAMLNotConfigured(err error) bool {
	return hasAppError(err, http.StatusNotImplemented, SAMLNotAvailableErrorID)
}

// GetSAMLMetadata calls GET /saml/metadata and returns the service provider
// metadata document (XML, at most 256 KiB) as is. It needs no session; a
// server without SAML answers 501 (IsSAMLNotConfigured).
func (c *Client) GetSAMLMetadata(ctx context.Context) ([]byte, error) {
	var out []byte
	err := c.do(ctx, request{endpoint: EndpointSAMLMetadata, method: http.MethodGet, path: "/saml/metadata", maxBody: maxBodySAMLMetadata},
		func(_ *http.Response, body io.Reader) error {
			var err error
			out, err = readAll(body)
			return err
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetSAMLIDPMetadataURL calls GET /config (system admins; others get 403)
// and returns only SamlSettings.IdpMetadataURL ("" when unset). The answer
// is the whole config (secrets are masked by the server); nothing else of it
// is kept. Every call writes an audit record on the server: call it rarely.
func (c *Client) GetSAMLIDPMetadataURL(ctx context.Context) (string, error) {
	var out string
	err := c.do(ctx, request{endpoint: EndpointConfig, method: http.MethodGet, path: "/config", maxBody: maxBodyConfig},
		func(_ *http.Response, body io.Reader) error {
			var raw struct {
				SamlSettings *struct {
					IdpMetadataURL *string `json:"IdpMetadataURL"`
				} `json:"SamlSettings"`
			}
			if err := c.decodeJSONObject(body, &raw); err != nil {
				return err
			}
			if raw.SamlSettings == nil {
				return errors.New("decode response: no SamlSettings")
			}
			if raw.SamlSettings.IdpMetadataURL != nil {
				// A URL: bounded like any other server string.
				out = *raw.SamlSettings.IdpMetadataURL
				if len(out) > 2048 {
					return errors.New("decode response: SamlSettings.IdpMetadataURL longer than 2048 bytes")
				}
			}
			return nil
		})
	if err != nil {
		return "", err
	}
	return out, nil
}
