package mmclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/internal/testhelp"
)

// Fixture directories: real answers of 5.37 and 11.2 servers.
const (
	era537 = "real-mattermost"
	era11  = "current-mattermost"
)

// opsReplay serves one handler per path and records the raw queries seen.
type opsReplay struct {
	*httptest.Server
	mu      sync.Mutex
	queries map[string][]string
}

func newOpsReplay(t *testing.T, routes map[string]http.HandlerFunc) *opsReplay {
	t.Helper()
	s := &opsReplay{queries: map[string][]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.queries[r.URL.Path] = append(s.queries[r.URL.Path], r.URL.RawQuery)
		s.mu.Unlock()
		h, ok := routes[r.URL.Path]
		if !ok {
			http.Error(w, "no route", http.StatusTeapot)
			return
		}
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *opsReplay) seen(path string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries[path]...)
}

func fixtureHandler(t testing.TB, era, name string) http.HandlerFunc {
	f := testhelp.LoadFixture(t, filepath.Join("..", "testdata", era), name)
	return func(w http.ResponseWriter, _ *http.Request) { f.Serve(w) }
}

func bodyHandler(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// newOpsClient returns a client of s whose Observer records endpoint names.
func newOpsClient(t *testing.T, s *opsReplay) (*Client, func() []RequestInfo) {
	t.Helper()
	var mu sync.Mutex
	var infos []RequestInfo
	c, err := New(Options{BaseURL: s.URL, Token: "opstesttoken0000000000000a", Observer: func(ri RequestInfo) {
		mu.Lock()
		infos = append(infos, ri)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c, func() []RequestInfo {
		mu.Lock()
		defer mu.Unlock()
		return append([]RequestInfo(nil), infos...)
	}
}

func opsCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestOpsServerHealthFixtures(t *testing.T) {
	tests := []struct {
		era, name   string
		wantBackend string
		wantRoot    bool
	}{
		{era537, "ping_server_status_admin", "", false},
		{era537, "ping_server_status_nonadmin", "", false},
		{era537, "ping_server_status_no_token", "", false},
		{era11, "ping_server_status_admin", "database", true},
		{era11, "ping_server_status_nonadmin", "database", false},
		{era11, "ping_server_status_rest_semantics_admin", "database", true},
	}
	for _, tc := range tests {
		t.Run(tc.era+"/"+tc.name, func(t *testing.T) {
			s := newOpsReplay(t, map[string]http.HandlerFunc{"/api/v4/system/ping": fixtureHandler(t, tc.era, tc.name)})
			c, infos := newOpsClient(t, s)
			h, err := c.GetServerHealth(opsCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			if h.Status != HealthOK || h.DatabaseStatus != HealthOK || h.FilestoreStatus != HealthOK {
				t.Errorf("health = %+v, want every status OK", h)
			}
			if h.ActiveSearchBackend != tc.wantBackend {
				t.Errorf("search backend = %q, want %q", h.ActiveSearchBackend, tc.wantBackend)
			}
			if h.HasRootStatus != tc.wantRoot {
				t.Errorf("HasRootStatus = %v, want %v", h.HasRootStatus, tc.wantRoot)
			}
			// The 11.2 fixture server ran as root (in a container): an
			// admin is told so.
			if h.RootStatus != tc.wantRoot {
				t.Errorf("RootStatus = %v, want %v", h.RootStatus, tc.wantRoot)
			}
			if q := s.seen("/api/v4/system/ping"); len(q) != 1 || q[0] != "get_server_status=true&use_rest_semantics=true" {
				t.Errorf("queries = %q", q)
			}
			if got := infos(); len(got) != 1 || got[0].Endpoint != EndpointServerHealth || got[0].Code != 200 {
				t.Errorf("observed %+v", got)
			}
			if v, ok := c.ServerVersion(); !ok || v.Version == "" {
				t.Error("version header not captured")
			}
		})
	}
}

// An unhealthy server: 11.x keeps HTTP 200 (use_rest_semantics), 5.37
// answers 500 with the same body; both are answers, not errors.
func TestOpsServerHealthUnhealthy(t *testing.T) {
	const body = `{"AndroidLatestVersion":"","database_status":"UNHEALTHY","filestore_status":"OK","root_status":false,"status":"UNHEALTHY"}`
	for _, code := range []int{200, 500} {
		s := newOpsReplay(t, map[string]http.HandlerFunc{"/api/v4/system/ping": bodyHandler(code, body)})
		c, _ := newOpsClient(t, s)
		h, err := c.GetServerHealth(opsCtx(t))
		if err != nil {
			t.Fatalf("HTTP %d: %v", code, err)
		}
		if h.Status != HealthUnhealthy || h.DatabaseStatus != HealthUnhealthy || h.FilestoreStatus != HealthOK || h.HTTPStatus != code {
			t.Errorf("HTTP %d: %+v", code, h)
		}
		if !h.HasRootStatus || h.RootStatus {
			t.Errorf("HTTP %d: root status %v/%v, want present and false", code, h.HasRootStatus, h.RootStatus)
		}
	}
}

func TestOpsServerHealthErrors(t *testing.T) {
	tests := []struct {
		name  string
		h     http.HandlerFunc
		check func(error) bool
	}{
		{"500 AppError", bodyHandler(500, `{"id":"x.app_error","message":"boom","detailed_error":"","status_code":500}`), func(err error) bool { return hasStatus(err, 500) }},
		{"502 proxy page", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			_, _ = w.Write([]byte("<html>bad gateway</html>"))
		}, func(err error) bool { return hasStatus(err, 502) }},
		{"200 without status", bodyHandler(200, `{"database_status":"OK"}`), func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "no status field")
		}},
		{"200 not JSON", bodyHandler(200, `nope`), func(err error) bool {
			return err != nil && strings.HasPrefix(err.Error(), EndpointServerHealth+": decode response")
		}},
		{"200 array", bodyHandler(200, `[]`), func(err error) bool { return err != nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newOpsReplay(t, map[string]http.HandlerFunc{"/api/v4/system/ping": tc.h})
			c, _ := newOpsClient(t, s)
			h, err := c.GetServerHealth(opsCtx(t))
			if !tc.check(err) || h != nil {
				t.Errorf("got %+v, %v", h, err)
			}
		})
	}
}

func TestOpsLicenseFixtures(t *testing.T) {
	for _, tc := range []struct{ era, name string }{
		{era537, "license_client_old_format_admin"},
		{era537, "license_client_old_format_no_token"},
		{era11, "license_client_old_format_admin"},
	} {
		t.Run(tc.era+"/"+tc.name, func(t *testing.T) {
			s := newOpsReplay(t, map[string]http.HandlerFunc{"/api/v4/license/client": fixtureHandler(t, tc.era, tc.name)})
			c, _ := newOpsClient(t, s)
			l, err := c.GetClientLicense(opsCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			if *l != (License{}) {
				t.Errorf("unlicensed server decoded as %+v", l)
			}
			if q := s.seen("/api/v4/license/client"); len(q) != 1 || q[0] != "format=old" {
				t.Errorf("queries = %q", q)
			}
		})
	}
}

// Without format=old, 11.x answers 400: the client never omits it, but the
// error must come through as an APIError if a server still refuses.
func TestOpsLicenseNewFormatRefused(t *testing.T) {
	s := newOpsReplay(t, map[string]http.HandlerFunc{"/api/v4/license/client": fixtureHandler(t, era11, "license_client_admin")})
	c, _ := newOpsClient(t, s)
	_, err := c.GetClientLicense(opsCtx(t))
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.ID != "api.license.client.old_format.app_error" {
		t.Errorf("err = %v", err)
	}
}

// A licensed server's answer, shaped like utils.GetClientLicense (every
// value a string), for an admin and sanitized for a plain user.
func TestOpsLicenseLicensed(t *testing.T) {
	const admin = `{"IsLicensed":"true","Id":"lic","SkuName":"Enterprise","SkuShortName":"enterprise","Users":"500","LDAP":"true",` +
		`"IssuedAt":"1704067200000","StartsAt":"1704067200000","ExpiresAt":"1735689600000","Name":"n","Email":"e@x","Company":"c","IsTrial":"false","IsGovSku":"false"}`
	const user = `{"IsLicensed":"true","SkuShortName":"enterprise","Users":"500","LDAP":"true","Company":"c","IsTrial":"true","IsGovSku":"false"}`
	s := newOpsReplay(t, map[string]http.HandlerFunc{"/api/v4/license/client": bodyHandler(200, admin)})
	c, _ := newOpsClient(t, s)
	l, err := c.GetClientLicense(opsCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := License{IsLicensed: true, SkuShortName: "enterprise", HasIsTrial: true, Users: 500, HasUsers: true,
		StartsAt: time.UnixMilli(1704067200000), HasStartsAt: true, ExpiresAt: time.UnixMilli(1735689600000), HasExpiresAt: true}
	if !l.StartsAt.Equal(want.StartsAt) || !l.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("dates %v %v", l.StartsAt, l.ExpiresAt)
	}
	l.StartsAt, l.ExpiresAt, want.StartsAt, want.ExpiresAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if *l != want {
		t.Errorf("admin license = %+v, want %+v", *l, want)
	}

	s2 := newOpsReplay(t, map[string]http.HandlerFunc{"/api/v4/license/client": bodyHandler(200, user)})
	c2, _ := newOpsClient(t, s2)
	l2, err := c2.GetClientLicense(opsCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !l2.IsLicensed || l2.HasExpiresAt || l2.HasStartsAt || !l2.IsTrial || !l2.HasUsers || l2.Users != 500 {
		t.Errorf("sanitized license = %+v", *l2)
	}
}

func TestOpsLicenseTolerance(t *testing.T) {
	tests := []struct {
		body    string
		wantErr bool
		check   func(*License) bool
	}{
		{`{"IsLicensed":true,"Users":250,"ExpiresAt":1735689600000}`, false, func(l *License) bool {
			return l.IsLicensed && l.Users == 250 && l.HasExpiresAt && l.ExpiresAt.UnixMilli() == 1735689600000
		}},
		{`{"IsLicensed":"true","Users":"lots","ExpiresAt":"0","StartsAt":"-5"}`, false, func(l *License) bool {
			return l.IsLicensed && !l.HasUsers && !l.HasExpiresAt && !l.HasStartsAt
		}},
		{`{"IsLicensed":"maybe"}`, true, nil},
		{`{}`, true, nil},
		{`[]`, true, nil},
		{`{"IsLicensed":null}`, true, nil},
	}
	for _, tc := range tests {
		s := newOpsReplay(t, map[string]http.HandlerFunc{"/api/v4/license/client": bodyHandler(200, tc.body)})
		c, _ := newOpsClient(t, s)
		l, err := c.GetClientLicense(opsCtx(t))
		if tc.wantErr {
			if err == nil {
				t.Errorf("%s: no error, got %+v", tc.body, l)
			}
			continue
		}
		if err != nil || !tc.check(l) {
			t.Errorf("%s: %+v, %v", tc.body, l, err)
		}
	}
}

func TestOpsJobsFixtures(t *testing.T) {
	tests := []struct {
		era   string
		types []string
	}{
		{era537, []string{"expiry_notify", "migrations"}},
		{era11, []string{"migrations", "import_process"}},
	}
	for _, tc := range tests {
		t.Run(tc.era, func(t *testing.T) {
			s := newOpsReplay(t, map[string]http.HandlerFunc{"/api/v4/jobs": fixtureHandler(t, tc.era, "jobs_admin")})
			c, _ := newOpsClient(t, s)
			jobs, err := c.GetJobs(opsCtx(t), 500)
			if err != nil {
				t.Fatal(err)
			}
			if len(jobs) != len(tc.types) {
				t.Fatalf("%d jobs", len(jobs))
			}
			for i, j := range jobs {
				if j.Type != tc.types[i] || j.Status != JobStatusSuccess || len(j.ID) != 26 || j.CreateAt <= 0 || j.LastActivityAt < j.StartAt || j.StartAt < j.CreateAt {
					t.Errorf("job %d = %+v", i, j)
				}
			}
			if q := s.seen("/api/v4/jobs"); len(q) != 1 || q[0] != "page=0&per_page=200" {
				t.Errorf("queries = %q (per_page must be clamped to 200)", q)
			}
		})
	}
}

func TestOpsJobsNonAdmin(t *testing.T) {
	for _, era := range []string{era537, era11} {
		s := newOpsReplay(t, map[string]http.HandlerFunc{"/api/v4/jobs": fixtureHandler(t, era, "jobs_nonadmin")})
		c, _ := newOpsClient(t, s)
		_, err := c.GetJobs(opsCtx(t), 200)
		if !IsForbidden(err) || !strings.HasPrefix(err.Error(), EndpointJobs+": HTTP 403") {
			t.Errorf("%s: err = %v", era, err)
		}
	}
}

func TestOpsJobsEmptyAndTooMany(t *testing.T) {
	s := newOpsReplay(t, map[string]http.HandlerFunc{"/api/v4/jobs": fixtureHandler(t, era537, "jobs_type_data_retention_admin")})
	c, _ := newOpsClient(t, s)
	jobs, err := c.GetJobs(opsCtx(t), 10)
	if err != nil || jobs == nil || len(jobs) != 0 {
		t.Errorf("empty list: %v, %v", jobs, err)
	}
	var b strings.Builder
	b.WriteString("[")
	for i := 0; i < 3; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"id":"a","type":"t","status":"pending","create_at":1}`)
	}
	b.WriteString("]")
	s2 := newOpsReplay(t, map[string]http.HandlerFunc{"/api/v4/jobs": bodyHandler(200, b.String())})
	c2, _ := newOpsClient(t, s2)
	if _, err := c2.GetJobs(opsCtx(t), 2); !errors.Is(err, ErrTooManyItems) {
		t.Errorf("3 jobs for per_page 2: err = %v", err)
	}
}

func TestOpsPluginStatuses(t *testing.T) {
	for _, era := range []string{era537, era11} {
		s := newOpsReplay(t, map[string]http.HandlerFunc{"/api/v4/plugins/statuses": fixtureHandler(t, era, "plugins_statuses_plugins_disabled")})
		c, _ := newOpsClient(t, s)
		_, err := c.GetPluginStatuses(opsCtx(t))
		if !IsPluginsDisabled(err) {
			t.Errorf("%s: err = %v, want plugins disabled", era, err)
		}
	}
	if IsPluginsDisabled(&APIError{StatusCode: 501, ID: "api.admin.saml.not_available.app_error"}) {
		t.Error("SAML 501 taken for plugins disabled")
	}
	if IsPluginsDisabled(&APIError{StatusCode: 403, ID: PluginsDisabledErrorID}) {
		t.Error("403 taken for plugins disabled")
	}

	const body = `[{"plugin_id":"com.mattermost.calls","cluster_id":"n1","plugin_path":"/p","state":2,"error":"","name":"Calls","description":"d","version":"1.2.0"},` +
		`{"plugin_id":"com.mattermost.calls","cluster_id":"n2","plugin_path":"/p","state":4,"error":"crashed","name":"Calls","description":"d","version":"1.1.0"}]`
	s := newOpsReplay(t, map[string]http.HandlerFunc{"/api/v4/plugins/statuses": bodyHandler(200, body)})
	c, _ := newOpsClient(t, s)
	ps, err := c.GetPluginStatuses(opsCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []PluginStatus{
		{PluginID: "com.mattermost.calls", ClusterID: "n1", State: PluginStateRunning, Name: "Calls", Version: "1.2.0"},
		{PluginID: "com.mattermost.calls", ClusterID: "n2", State: PluginStateFailedToStayRunning, Name: "Calls", Version: "1.1.0", Error: "crashed"},
	}
	if len(ps) != 2 || ps[0] != want[0] || ps[1] != want[1] {
		t.Errorf("statuses = %+v", ps)
	}
	if _, err := c.GetPluginStatuses(opsCtx(t), MaxItems(1)); !errors.Is(err, ErrTooManyItems) {
		t.Errorf("MaxItems(1): err = %v", err)
	}
	if PluginStateNames[PluginStateFailedToStart] != "failed_to_start" || len(PluginStateNames) != 6 {
		t.Error("plugin state names")
	}
}

func TestOpsAnalyticsFixtures(t *testing.T) {
	for _, tc := range []struct {
		era       string
		users     float64
		master    float64
		daily     float64
		inactive  float64
		postCount float64
	}{
		{era537, 1990, 7, 149, 12, 4},
		{era11, 992, 2, 150, 10, 0},
	} {
		t.Run(tc.era, func(t *testing.T) {
			s := newOpsReplay(t, map[string]http.HandlerFunc{"/api/v4/analytics/old": fixtureHandler(t, tc.era, "analytics_old_standard_admin")})
			c, infos := newOpsClient(t, s)
			rows, err := c.GetAnalytics(opsCtx(t), "standard")
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]float64{}
			for _, r := range rows {
				got[r.Name] = r.Value
			}
			if len(rows) != 11 || got["unique_user_count"] != tc.users || got["total_master_db_connections"] != tc.master ||
				got["daily_active_users"] != tc.daily || got["inactive_user_count"] != tc.inactive || got["post_count"] != tc.postCount {
				t.Errorf("rows = %v", got)
			}
			if q := s.seen("/api/v4/analytics/old"); len(q) != 1 || q[0] != "name=standard" {
				t.Errorf("queries = %q", q)
			}
			if ri := infos(); len(ri) != 1 || ri[0].Endpoint != EndpointAnalytics {
				t.Errorf("observed %+v", ri)
			}
		})
	}
	s := newOpsReplay(t, map[string]http.HandlerFunc{"/api/v4/analytics/old": fixtureHandler(t, era537, "analytics_old_standard_nonadmin")})
	c, _ := newOpsClient(t, s)
	if _, err := c.GetAnalytics(opsCtx(t), "standard"); !IsForbidden(err) {
		t.Errorf("non-admin: err = %v", err)
	}
	for _, bad := range []string{"", "Standard", "a&b=c", strings.Repeat("a", 65)} {
		if _, err := c.GetAnalytics(opsCtx(t), bad); err == nil || IsForbidden(err) {
			t.Errorf("name %q accepted: %v", bad, err)
		}
	}
}

// Each call has its own body cap: a deep ping answer of 100 KB is refused
// although the client's ceiling is 64 MiB.
func TestOpsBodyCaps(t *testing.T) {
	big := `{"status":"OK","database_status":"OK","filestore_status":"OK","x":"` + strings.Repeat("a", 100<<10) + `"}`
	s := newOpsReplay(t, map[string]http.HandlerFunc{
		"/api/v4/system/ping":    bodyHandler(200, big),
		"/api/v4/license/client": bodyHandler(200, `{"IsLicensed":"false","x":"`+strings.Repeat("a", 100<<10)+`"}`),
	})
	c, _ := newOpsClient(t, s)
	if _, err := c.GetServerHealth(opsCtx(t)); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("health: err = %v, want ErrBodyTooLarge", err)
	}
	if _, err := c.GetClientLicense(opsCtx(t)); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("license: err = %v, want ErrBodyTooLarge", err)
	}
}

// The jobs, plugins, analytics and config answers are bounded in bytes, so
// that a broken or hostile server (or a proxy's error page streamed
// without end) cannot make the exporter buffer and decode more than a
// known amount per scrape: 16 KiB per job asked (real jobs are 0.3-0.7 KB,
// their data strings can be longer), 8 KiB per plugin status allowed
// (0.4 KB plus the error text), 256 bytes per analytics row (about 40) for
// at most 1,000 rows, 4 MiB for the whole config (30-60 KB), each plus 4
// KiB. The sizes are written out here: a large real answer well within
// its bound is read, an answer twice the bound is refused.
func TestOpsBodyCapsInBytes(t *testing.T) {
	pad := func(n int) string { return strings.Repeat("x", n) }
	list := func(n, size int, elem func(i int, pad string) string) string {
		var b strings.Builder
		b.WriteByte('[')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(elem(i, pad(size)))
		}
		b.WriteByte(']')
		return b.String()
	}
	job := func(i int, p string) string {
		return fmt.Sprintf(`{"id":"job%023d","type":"message_export","status":"success","create_at":1,"data":{"note":"%s"}}`, i, p)
	}
	plugin := func(i int, p string) string {
		return fmt.Sprintf(`{"plugin_id":"plugin%d","cluster_id":"","state":3,"name":"P","version":"1.0.0","error":"%s"}`, i, p)
	}
	row := func(i int, p string) string { return fmt.Sprintf(`{"name":"row%d%s","value":1}`, i, p) }
	config := func(size int) string {
		return `{"SamlSettings":{"IdpMetadataURL":""},"PluginSettings":{"Plugins":{"big":"` + pad(size) + `"}}}`
	}
	for _, tc := range []struct {
		name      string
		path      string
		body      string
		wantBytes int // the bound, for the message
		call      func(*Client) error
		refused   bool
	}{
		// 10 jobs asked: 4 KiB + 10 * 16 KiB = 167,936 bytes.
		{"jobs, 10 of 14 KB", "/api/v4/jobs", list(10, 14000, job), 167936,
			func(c *Client) error { _, err := c.GetJobs(opsCtx(t), 10); return err }, false},
		{"jobs, 10 of 34 KB", "/api/v4/jobs", list(10, 34000, job), 167936,
			func(c *Client) error { _, err := c.GetJobs(opsCtx(t), 10); return err }, true},
		// 10 plugin statuses allowed: 4 KiB + 10 * 8 KiB = 86,016 bytes.
		{"plugins, 10 of 7 KB", "/api/v4/plugins/statuses", list(10, 7000, plugin), 86016,
			func(c *Client) error { _, err := c.GetPluginStatuses(opsCtx(t), MaxItems(10)); return err }, false},
		{"plugins, 10 of 18 KB", "/api/v4/plugins/statuses", list(10, 18000, plugin), 86016,
			func(c *Client) error { _, err := c.GetPluginStatuses(opsCtx(t), MaxItems(10)); return err }, true},
		// 4 KiB + 1,000 rows * 256 bytes = 260,096 bytes.
		{"analytics, 1000 rows of 220 bytes", "/api/v4/analytics/old", list(1000, 200, row), 260096,
			func(c *Client) error { _, err := c.GetAnalytics(opsCtx(t), "standard"); return err }, false},
		{"analytics, 1000 rows of 540 bytes", "/api/v4/analytics/old", list(1000, 520, row), 260096,
			func(c *Client) error { _, err := c.GetAnalytics(opsCtx(t), "standard"); return err }, true},
		// 4 MiB = 4,194,304 bytes.
		{"config of 3.5 MB", "/api/v4/config", config(3_500_000), 4194304,
			func(c *Client) error { _, err := c.GetSAMLIDPMetadataURL(opsCtx(t)); return err }, false},
		{"config of 8.4 MB", "/api/v4/config", config(8_400_000), 4194304,
			func(c *Client) error { _, err := c.GetSAMLIDPMetadataURL(opsCtx(t)); return err }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newOpsReplay(t, map[string]http.HandlerFunc{tc.path: bodyHandler(200, tc.body)})
			c, _ := newOpsClient(t, s)
			err := tc.call(c)
			switch {
			case tc.refused && !errors.Is(err, ErrBodyTooLarge):
				t.Errorf("%d bytes, more than twice the bound of %d: err = %v, want ErrBodyTooLarge", len(tc.body), tc.wantBytes, err)
			case !tc.refused && err != nil:
				t.Errorf("%d bytes, within the bound of %d: %v", len(tc.body), tc.wantBytes, err)
			}
		})
	}
}

func TestOpsSAMLMetadata(t *testing.T) {
	for _, era := range []string{era537, era11} {
		s := newOpsReplay(t, map[string]http.HandlerFunc{"/api/v4/saml/metadata": fixtureHandler(t, era, "saml_metadata_not_configured")})
		c, infos := newOpsClient(t, s)
		_, err := c.GetSAMLMetadata(opsCtx(t))
		if !IsSAMLNotConfigured(err) {
			t.Errorf("%s: err = %v, want SAML not configured", era, err)
		}
		if got := infos(); len(got) != 1 || got[0].Endpoint != EndpointSAMLMetadata {
			t.Errorf("%s: requests %+v", era, got)
		}
	}
	if IsSAMLNotConfigured(&APIError{StatusCode: 501, ID: PluginsDisabledErrorID}) {
		t.Error("plugins 501 taken for SAML not configured")
	}
	if IsSAMLNotConfigured(&APIError{StatusCode: 500, ID: SAMLNotAvailableErrorID}) {
		t.Error("500 taken for SAML not configured")
	}

	const doc = `<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"></md:EntityDescriptor>`
	s := newOpsReplay(t, map[string]http.HandlerFunc{"/api/v4/saml/metadata": func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		_, _ = w.Write([]byte(doc))
	}})
	c, _ := newOpsClient(t, s)
	got, err := c.GetSAMLMetadata(opsCtx(t))
	if err != nil || string(got) != doc {
		t.Errorf("GetSAMLMetadata = %q, %v", got, err)
	}

	big := strings.Repeat("x", maxBodySAMLMetadata+1)
	s = newOpsReplay(t, map[string]http.HandlerFunc{"/api/v4/saml/metadata": bodyHandler(200, big)})
	c, _ = newOpsClient(t, s)
	if _, err := c.GetSAMLMetadata(opsCtx(t)); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("oversized metadata: err = %v, want ErrBodyTooLarge", err)
	}
}

func TestOpsSAMLIDPMetadataURL(t *testing.T) {
	// A config shaped like the real one: many sections, only one field kept.
	const cfg = `{"ServiceSettings":{"SiteURL":"https://chat.example.test","ListenAddress":":8065"},` +
		`"SqlSettings":{"DataSource":"********************************"},` +
		`"SamlSettings":{"Enable":true,"IdpMetadataURL":"https://idp.example.test/metadata","PrivateKeyPassword":"********************************"},` +
		`"PluginSettings":{"Plugins":{"com.example":{"k":[1,2,3]}}}}`
	s := newOpsReplay(t, map[string]http.HandlerFunc{"/api/v4/config": bodyHandler(200, cfg)})
	c, infos := newOpsClient(t, s)
	got, err := c.GetSAMLIDPMetadataURL(opsCtx(t))
	if err != nil || got != "https://idp.example.test/metadata" {
		t.Errorf("GetSAMLIDPMetadataURL = %q, %v", got, err)
	}
	if ri := infos(); len(ri) != 1 || ri[0].Endpoint != EndpointConfig {
		t.Errorf("requests %+v", ri)
	}

	for name, tc := range map[string]struct {
		status int
		body   string
		want   string
		check  func(error) bool
	}{
		"unset":        {200, `{"SamlSettings":{"Enable":false,"IdpMetadataURL":""}}`, "", func(err error) bool { return err == nil }},
		"no field":     {200, `{"SamlSettings":{"Enable":false}}`, "", func(err error) bool { return err == nil }},
		"no section":   {200, `{"ServiceSettings":{}}`, "", func(err error) bool { return err != nil && strings.Contains(err.Error(), "no SamlSettings") }},
		"not object":   {200, `[]`, "", func(err error) bool { return err != nil }},
		"forbidden":    {403, `{"id":"api.context.permissions.app_error","message":"You do not have the appropriate permissions.","status_code":403}`, "", IsForbidden},
		"huge url":     {200, `{"SamlSettings":{"IdpMetadataURL":"https://x/` + strings.Repeat("a", 3000) + `"}}`, "", func(err error) bool { return err != nil && strings.Contains(err.Error(), "2048") }},
		"over the cap": {200, `{"SamlSettings":{"IdpMetadataURL":"x"},"Pad":"` + strings.Repeat("p", maxBodyConfig) + `"}`, "", func(err error) bool { return errors.Is(err, ErrBodyTooLarge) }},
	} {
		s := newOpsReplay(t, map[string]http.HandlerFunc{"/api/v4/config": bodyHandler(tc.status, tc.body)})
		c, _ := newOpsClient(t, s)
		got, err := c.GetSAMLIDPMetadataURL(opsCtx(t))
		if got != tc.want || !tc.check(err) {
			t.Errorf("%s: got %q, err %v", name, got, err)
		}
	}
}
