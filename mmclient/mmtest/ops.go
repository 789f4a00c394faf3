package mmtest

// The fake's answers for the health, license, jobs, plugins, analytics and
// SAML metadata endpoints, with the shapes and permission answers of the
// real 5.37 and 11.2 servers (testdata/real-mattermost and
// testdata/current-mattermost), following the server's Era.

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// Endpoint names of the endpoints of this file (see Endpoints, SetFault,
// Requests). The ping with get_server_status set counts as
// EndpointServerHealth, not EndpointPing. EndpointLicense is the client's
// name of GET /license/client, the same as EndpointLicenseClient.
const (
	EndpointServerHealth   = mmclient.EndpointServerHealth
	EndpointLicense        = mmclient.EndpointLicense
	EndpointJobs           = mmclient.EndpointJobs
	EndpointPluginStatuses = mmclient.EndpointPluginStatuses
	EndpointAnalytics      = mmclient.EndpointAnalytics
	EndpointSAMLMetadata   = mmclient.EndpointSAMLMetadata
	EndpointConfig         = mmclient.EndpointConfig
	// EndpointIDPMetadata is the fake's own IdP metadata document,
	// IDPMetadataPath, outside the API (see SetSAMLIDPCertificate).
	EndpointIDPMetadata = "fake_idp_metadata"
)

// IDPMetadataPath is where the fake serves an IdP's SAML metadata (no
// session needed) once SetSAMLIDPCertificate has been called.
const IDPMetadataPath = "/fake-idp/metadata"

// Counter indexes, after those of server.go.
const (
	epServerHealth = epOpsBase + iota
	epJobs
	epPlugins
	epAnalytics
	epSAMLMetadata
	epConfig
	epIDPMetadata
	epOpsEnd
)

var opsEndpointNames = [epOpsEnd - epOpsBase]string{
	EndpointServerHealth, EndpointJobs, EndpointPluginStatuses, EndpointAnalytics, EndpointSAMLMetadata,
	EndpointConfig, EndpointIDPMetadata,
}

func init() { copy(endpointNames[epOpsBase:], opsEndpointNames[:]) }

// License is an installed license (see SetLicense).
type License struct {
	SkuShortName string // e.g. "enterprise"
	SkuName      string
	Users        int // seats
	IssuedAt     time.Time
	StartsAt     time.Time
	ExpiresAt    time.Time
	IsTrial      bool
}

// Job is one background job of GET /jobs (see SetJobs). Zero times are
// answered as 0.
type Job struct {
	ID             string // "" = a generated id
	Type           string
	Status         string // pending, in_progress, success, error, cancel_requested, canceled, warning
	CreateAt       time.Time
	StartAt        time.Time
	LastActivityAt time.Time
	Progress       int64
}

// PluginStatus is one plugin on one node of GET /plugins/statuses (see
// SetPlugins). State is 0..5 (mmclient.PluginState*).
type PluginStatus struct {
	PluginID  string
	ClusterID string
	Name      string
	Version   string
	State     int
	Error     string
}

// opsState is the part of a Server's state these endpoints answer from; it
// is guarded by Server.mu.
type opsState struct {
	databaseDown  bool
	filestoreDown bool
	searchBackend string // "" = "database"
	license       *License
	jobs          []Job
	plugins       bool // PluginSettings.Enable; false like the recorded servers
	statuses      []PluginStatus
	analytics     map[string]float64

	spMetadata     []byte // nil: SAML not configured (501)
	idpMetadata    []byte // nil: IDPMetadataPath answers 404
	idpMetadataURL string // SamlSettings.IdpMetadataURL of GET /config
	idpAuthSeen    int    // IdP metadata requests that carried an Authorization header
}

// SetHealth sets what the deep health check (get_server_status) reports for
// the database and the file store (true = OK). A failing component makes
// the ping's status UNHEALTHY: HTTP 500 on 5.37, and on 11.x too unless the
// request says use_rest_semantics=true.
func (s *Server) SetHealth(databaseOK, filestoreOK bool) {
	s.mu.Lock()
	s.ops.databaseDown, s.ops.filestoreDown = !databaseOK, !filestoreOK
	s.mu.Unlock()
}

// SetSearchBackend sets the ActiveSearchBackend of 11.x pings ("" =
// "database").
func (s *Server) SetSearchBackend(name string) {
	s.mu.Lock()
	s.ops.searchBackend = name
	s.mu.Unlock()
}

// SetLicense installs l (nil = none: the license flag of X-Version-Id
// then decides, as before, with no other field).
func (s *Server) SetLicense(l *License) {
	var c *License
	if l != nil {
		cp := *l
		c = &cp
	}
	s.mu.Lock()
	s.ops.license = c
	s.mu.Unlock()
}

// SetJobs replaces the jobs (answered newest first by create time).
func (s *Server) SetJobs(jobs []Job) {
	c := append([]Job(nil), jobs...)
	for i := range c {
		if c[i].ID == "" {
			c[i].ID = newID()
		}
	}
	sort.SliceStable(c, func(i, j int) bool { return c[i].CreateAt.After(c[j].CreateAt) })
	s.mu.Lock()
	s.ops.jobs = c
	s.mu.Unlock()
}

// SetPlugins enables or disables plugins (disabled: every plugin call
// answers 501) and replaces the per-node plugin statuses.
func (s *Server) SetPlugins(enabled bool, statuses []PluginStatus) {
	c := append([]PluginStatus(nil), statuses...)
	s.mu.Lock()
	s.ops.plugins, s.ops.statuses = enabled, c
	s.mu.Unlock()
}

// SetAnalytics overrides rows of GET /analytics/old?name=standard by name;
// a row not given is computed from the accounts (unique_user_count,
// inactive_user_count) or 0 (total_master_db_connections: 2). nil restores
// the defaults.
func (s *Server) SetAnalytics(rows map[string]float64) {
	var c map[string]float64
	if rows != nil {
		c = make(map[string]float64, len(rows))
		for k, v := range rows {
			c[k] = v
		}
	}
	s.mu.Lock()
	s.ops.analytics = c
	s.mu.Unlock()
}

// classifyOps routes the requests of this file: a ping asking for the
// server status, and paths classify does not know.
func classifyOps(r *http.Request, rt route) route {
	if rt.ep == epPing && rt.kind == routeOK && r.URL.Query().Get("get_server_status") != "" {
		rt.ep = epServerHealth
		return rt
	}
	if rt.ep != epOther {
		return rt
	}
	if r.URL.Path == IDPMetadataPath {
		if r.Method != http.MethodGet {
			return route{ep: epIDPMetadata, kind: routeBadMethod}
		}
		return route{ep: epIDPMetadata}
	}
	rest, ok := strings.CutPrefix(r.URL.Path, apiPrefix)
	if !ok {
		return rt
	}
	ep := -1
	switch rest {
	case "/jobs":
		ep = epJobs
	case "/plugins/statuses":
		ep = epPlugins
	case "/analytics/old":
		ep = epAnalytics
	case "/saml/metadata":
		ep = epSAMLMetadata
	case "/config":
		ep = epConfig
	}
	if ep < 0 {
		return rt
	}
	if r.Method != http.MethodGet {
		return route{ep: ep, kind: routeBadMethod}
	}
	return route{ep: ep}
}

// serveOps answers an endpoint of this file.
func (rc *reqCtx) serveOps(ep int) {
	switch ep {
	case epServerHealth:
		rc.serverHealth()
	case epJobs:
		rc.jobs()
	case epPlugins:
		rc.pluginStatuses()
	case epAnalytics:
		rc.analytics()
	case epSAMLMetadata:
		rc.samlMetadata()
	case epConfig:
		rc.config()
	case epIDPMetadata:
		rc.idpMetadata()
	}
}

// sessionIsAdmin resolves the token of an endpoint that needs no session: a
// missing or unknown token is ignored, as Mattermost does there.
func (rc *reqCtx) sessionIsAdmin() bool { return rc.s.sessionOf(tokenOf(rc.r)) == sessionAdmin }

func (rc *reqCtx) serverHealth() {
	current := rc.era == Era11
	q := rc.r.URL.Query()
	// 11.x runs the check only for the exact word "true"; 5.37 for any value.
	deep := !current || q.Get("get_server_status") == "true"
	rc.s.mu.RLock()
	unhealthy := rc.s.unhealthy
	st := rc.s.ops
	rc.s.mu.RUnlock()
	status := "OK"
	if unhealthy || deep && (st.databaseDown || st.filestoreDown) {
		status = "UNHEALTHY"
	}
	okOr := func(down bool) string {
		if down {
			return "UNHEALTHY"
		}
		return "OK"
	}
	b := make([]byte, 0, 256)
	b = append(b, '{')
	if current {
		backend := st.searchBackend
		if backend == "" {
			backend = "database"
		}
		b = append(b, `"ActiveSearchBackend":"`...)
		b = appendJSONStringBody(b, backend)
		b = append(b, `","AndroidLatestVersion":"","AndroidMinVersion":"","IosLatestVersion":"","IosMinVersion":"",`...)
	} else {
		b = append(b, `"AndroidLatestVersion":"","AndroidMinVersion":"","DesktopLatestVersion":"","DesktopMinVersion":"","IosLatestVersion":"","IosMinVersion":"",`...)
	}
	if deep {
		db, fs := okOr(st.databaseDown), okOr(st.filestoreDown)
		b = append(b, `"database_status":"`+db+`","filestore_status":"`+fs+`",`...)
		if current && rc.sessionIsAdmin() {
			// The recorded 11.2 server ran as root (in a container).
			b = append(b, `"root_status":true,`...)
		}
		h := rc.w.Header()
		h.Set("Database_status", db)
		h.Set("Filestore_status", fs)
		h.Set("Status", status)
	}
	b = append(b, `"status":"`+status+`"}`...)
	code := http.StatusOK
	restSemantics := current && q.Get("use_rest_semantics") == "true"
	if status != "OK" && !restSemantics {
		code = http.StatusInternalServerError
	}
	rc.respond(code, b)
}

// clientLicense answers GET /license/client (dispatched from handlers.go).
func (rc *reqCtx) clientLicense() {
	current := rc.era == Era11
	switch rc.r.URL.Query().Get("format") {
	case "old":
	case "":
		code := http.StatusNotImplemented
		if current {
			code = http.StatusBadRequest
		}
		rc.appError(code, "api.license.client.old_format.app_error",
			"New format for the client license is not supported yet. Please specify format=old in the query string.", "")
		return
	default:
		rc.appError(http.StatusBadRequest, "api.context.invalid_body_param.app_error", "Invalid or missing format in request body.", "")
		return
	}
	rc.s.mu.RLock()
	l, ver := rc.s.ops.license, rc.s.version
	rc.s.mu.RUnlock()
	if l == nil {
		licensed := "false"
		if strings.HasSuffix(ver, ".true") {
			licensed = "true"
		}
		rc.respond(http.StatusOK, []byte(`{"IsLicensed":"`+licensed+`"}`))
		return
	}
	ms := func(t time.Time) string {
		if t.IsZero() {
			return "0"
		}
		return strconv.FormatInt(t.UnixMilli(), 10)
	}
	m := map[string]string{
		"IsLicensed": "true", "Id": "fakelicense000000000000000", "SkuName": l.SkuName, "SkuShortName": l.SkuShortName,
		"Users": strconv.Itoa(l.Users), "LDAP": "true", "SAML": "true", "Cluster": "true", "Metrics": "true",
		"IssuedAt": ms(l.IssuedAt), "StartsAt": ms(l.StartsAt), "ExpiresAt": ms(l.ExpiresAt),
		"Name": "Fake Customer", "Email": "licensing@example.test", "Company": "Fake Inc.",
		"IsTrial": strconv.FormatBool(l.IsTrial), "IsGovSku": "false",
	}
	if !rc.sessionIsAdmin() {
		// The sanitized license of a caller without the permission to read it.
		for _, k := range []string{"Id", "Name", "Email", "IssuedAt", "StartsAt", "ExpiresAt", "SkuName"} {
			delete(m, k)
		}
		if !current {
			delete(m, "SkuShortName")
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		rc.appError(http.StatusInternalServerError, "api.marshal_error", "Failed to marshal.", err.Error())
		return
	}
	rc.respond(http.StatusOK, b)
}

func (rc *reqCtx) jobs() {
	if !rc.requireAdmin("sysconsole_read_jobs") {
		return
	}
	q := rc.r.URL.Query()
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 0 {
		page = 0
	}
	perPage, err := strconv.Atoi(q.Get("per_page"))
	switch {
	case err != nil || perPage < 0:
		perPage = perPageDefault
	case perPage > perPageMaximum:
		perPage = perPageMaximum
	}
	rc.s.mu.RLock()
	all := rc.s.ops.jobs
	rc.s.mu.RUnlock()
	start := page * perPage
	if start > len(all) {
		start = len(all)
	}
	end := min(start+perPage, len(all))
	type wireJob struct {
		ID             string            `json:"id"`
		Type           string            `json:"type"`
		Priority       int64             `json:"priority"`
		CreateAt       int64             `json:"create_at"`
		StartAt        int64             `json:"start_at"`
		LastActivityAt int64             `json:"last_activity_at"`
		Status         string            `json:"status"`
		Progress       int64             `json:"progress"`
		Data           map[string]string `json:"data"`
	}
	out := make([]wireJob, 0, end-start)
	for _, j := range all[start:end] {
		out = append(out, wireJob{ID: j.ID, Type: j.Type, CreateAt: millis(j.CreateAt), StartAt: millis(j.StartAt),
			LastActivityAt: millis(j.LastActivityAt), Status: j.Status, Progress: j.Progress, Data: map[string]string{}})
	}
	b, err := json.Marshal(out)
	if err != nil {
		rc.appError(http.StatusInternalServerError, "api.marshal_error", "Failed to marshal.", err.Error())
		return
	}
	rc.respond(http.StatusOK, b)
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func (rc *reqCtx) pluginStatuses() {
	if !rc.requireSession() {
		return
	}
	rc.s.mu.RLock()
	enabled, statuses := rc.s.ops.plugins, rc.s.ops.statuses
	rc.s.mu.RUnlock()
	// The real handler checks PluginSettings.Enable before the permission.
	if !enabled {
		rc.appError(http.StatusNotImplemented, mmclient.PluginsDisabledErrorID,
			"Plugins have been disabled. Please check your logs for details.", "")
		return
	}
	if !rc.admin {
		rc.permissionError("sysconsole_read_plugins")
		return
	}
	type wireStatus struct {
		PluginID    string `json:"plugin_id"`
		ClusterID   string `json:"cluster_id"`
		PluginPath  string `json:"plugin_path"`
		State       int    `json:"state"`
		Error       string `json:"error"`
		Name        string `json:"name"`
		Description string `json:"description"`
		Version     string `json:"version"`
	}
	out := make([]wireStatus, 0, len(statuses))
	for _, p := range statuses {
		out = append(out, wireStatus{PluginID: p.PluginID, ClusterID: p.ClusterID, PluginPath: "/mattermost/plugins/" + p.PluginID,
			State: p.State, Error: p.Error, Name: p.Name, Description: p.Name + " plugin", Version: p.Version})
	}
	b, err := json.Marshal(out)
	if err != nil {
		rc.appError(http.StatusInternalServerError, "api.marshal_error", "Failed to marshal.", err.Error())
		return
	}
	rc.respond(http.StatusOK, b)
}

// analyticsStandardRows are the rows of the standard set, in the server's order.
var analyticsStandardRows = [...]string{
	"channel_open_count", "channel_private_count", "post_count", "unique_user_count", "team_count",
	"total_websocket_connections", "total_master_db_connections", "total_read_db_connections",
	"daily_active_users", "monthly_active_users", "inactive_user_count",
}

func (rc *reqCtx) analytics() {
	if !rc.requireAdmin("get_analytics") {
		return
	}
	name := rc.r.URL.Query().Get("name")
	if name == "" {
		name = "standard"
	}
	if name != "standard" {
		// Only the standard set is modelled; unknown names answer null
		// like the real server.
		rc.respond(http.StatusOK, []byte("null"))
		return
	}
	rc.s.mu.RLock()
	over := rc.s.ops.analytics
	st := rc.s.users
	humans, deactivated := 0, 0
	for i := 0; i < st.n; i++ {
		switch {
		case st.deleteAt[i] != 0:
			deactivated++
		case st.flags[i]&flagBot == 0:
			humans++
		}
	}
	rc.s.mu.RUnlock()
	vals := map[string]float64{
		"unique_user_count":           float64(humans),
		"inactive_user_count":         float64(deactivated),
		"total_master_db_connections": 2,
	}
	b := make([]byte, 0, 512)
	b = append(b, '[')
	for i, row := range analyticsStandardRows {
		v := vals[row]
		if o, ok := over[row]; ok {
			v = o
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":"`+row+`","value":`...)
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
		b = append(b, '}')
	}
	b = append(b, ']')
	rc.respond(http.StatusOK, b)
}
