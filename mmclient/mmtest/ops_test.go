package mmtest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/internal/testhelp"
	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// Versions of the two recorded servers.
const (
	version537 = "5.37.0.5.37.0.299fc129c526e441ebe88af9ea6955c0.false"
	version112 = "11.2.0.11.2.0.cc2418492a0e65e2ee76e38279ee463874ff842fe741fe22f790b86fa9cb48f8.false"
)

// jsonShape reduces a JSON document to what must match between the real
// server and the fake: the sorted keys of an object (with the id of an
// AppError), or the shape of an array's first element and whether it is
// empty.
func jsonShape(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if _, isAppError := x["message"]; isAppError {
			keys = append(keys, "id="+x["id"].(string))
		}
		return keys
	case []any:
		if len(x) == 0 {
			return "[]"
		}
		first, _ := json.Marshal(x[0])
		return []any{"array", jsonShape(t, first)}
	}
	return v
}

// TestOpsMatchesFixtures asks the fake what was asked of the real servers and
// compares status, body shape and the health headers.
func TestOpsMatchesFixtures(t *testing.T) {
	tests := []struct {
		dir, name string
		version   string
		setup     func(*Server)
	}{
		{dir: "real-mattermost", name: "ping_server_status_admin", version: version537},
		{dir: "real-mattermost", name: "ping_server_status_nonadmin", version: version537},
		{dir: "real-mattermost", name: "ping_server_status_no_token", version: version537},
		{dir: "current-mattermost", name: "ping_server_status_admin", version: version112},
		{dir: "current-mattermost", name: "ping_server_status_nonadmin", version: version112},
		{dir: "current-mattermost", name: "ping_server_status_rest_semantics_admin", version: version112},
		{dir: "real-mattermost", name: "license_client_old_format_admin", version: version537},
		{dir: "real-mattermost", name: "license_client_old_format_no_token", version: version537},
		{dir: "current-mattermost", name: "license_client_old_format_admin", version: version112},
		{dir: "current-mattermost", name: "license_client_admin", version: version112},
		{dir: "real-mattermost", name: "saml_metadata_not_configured", version: version537},
		{dir: "current-mattermost", name: "saml_metadata_not_configured", version: version112},
		{dir: "real-mattermost", name: "jobs_admin", version: version537, setup: func(s *Server) {
			s.SetJobs([]Job{{Type: "expiry_notify", Status: "success", CreateAt: time.UnixMilli(1795999938664)}})
		}},
		{dir: "real-mattermost", name: "jobs_nonadmin", version: version537},
		{dir: "current-mattermost", name: "jobs_admin", version: version112, setup: func(s *Server) {
			s.SetJobs([]Job{{Type: "migrations", Status: "success", CreateAt: time.UnixMilli(1796000037154)}})
		}},
		{dir: "current-mattermost", name: "jobs_nonadmin", version: version112},
		{dir: "real-mattermost", name: "plugins_statuses_plugins_disabled", version: version537},
		{dir: "current-mattermost", name: "plugins_statuses_plugins_disabled", version: version112},
		{dir: "real-mattermost", name: "analytics_old_standard_admin", version: version537},
		{dir: "real-mattermost", name: "analytics_old_standard_nonadmin", version: version537},
		{dir: "current-mattermost", name: "analytics_old_standard_admin", version: version112},
	}
	for _, tc := range tests {
		t.Run(tc.dir+"/"+tc.name, func(t *testing.T) {
			f := testhelp.LoadFixture(t, filepath.Join("../../testdata", tc.dir), tc.name)
			meta, want := f.Meta, f.Body
			version := tc.version
			if v := meta.ResponseHeaders["X-Version-Id"]; v != "" {
				version = v // the same build as the recorded server
			}
			era := Era537
			if tc.dir == "current-mattermost" {
				era = Era11
			}
			s := NewServer(Config{Era: era, Version: version})
			t.Cleanup(s.Close)
			if tc.setup != nil {
				tc.setup(s)
			}
			req, err := http.NewRequest(http.MethodGet, s.URL+meta.Request.Path, nil)
			if err != nil {
				t.Fatal(err)
			}
			switch auth := meta.Request.Auth; {
			case auth == "" || auth == "(no Authorization header)":
			case contains(auth, "non-admin"):
				req.Header.Set("Authorization", "Bearer "+UserToken)
			default:
				req.Header.Set("Authorization", "Bearer "+AdminToken)
			}
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != meta.StatusCode {
				t.Errorf("status %d, real server %d: %s", resp.StatusCode, meta.StatusCode, got)
			}
			if g, w := jsonShape(t, got), jsonShape(t, want); !reflect.DeepEqual(g, w) {
				t.Errorf("body shape %v, real server %v\nfake: %s\nreal: %s", g, w, got, want)
			}
			for _, h := range []string{"Database_status", "Filestore_status", "Status", "X-Version-Id"} {
				if g, w := resp.Header.Get(h), meta.ResponseHeaders[h]; g != w {
					t.Errorf("header %s = %q, real server %q", h, g, w)
				}
			}
			if tc.name == "analytics_old_standard_admin" {
				// Same row names in the same order.
				var g, w []mmclient.AnalyticsRow
				_ = json.Unmarshal(got, &g)
				_ = json.Unmarshal(want, &w)
				if len(g) != len(w) {
					t.Fatalf("%d rows, real %d", len(g), len(w))
				}
				for i := range g {
					if g[i].Name != w[i].Name {
						t.Errorf("row %d %q, real %q", i, g[i].Name, w[i].Name)
					}
				}
			}
		})
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func opsClient(t *testing.T, s *Server, token string) *mmclient.Client {
	t.Helper()
	c, err := mmclient.New(mmclient.Options{BaseURL: s.URL, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func opsCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// The health check through the client in both eras: 5.37 answers an
// unhealthy state with 500, 11.x with 200 (use_rest_semantics); the client
// returns the details either way.
func TestOpsHealthEras(t *testing.T) {
	for _, v := range []string{version537, version112} {
		era := Era537
		if v == version112 {
			era = Era11
		}
		s := NewServer(Config{Era: era, Version: v})
		t.Cleanup(s.Close)
		c := opsClient(t, s, AdminToken)
		h, err := c.GetServerHealth(opsCtx(t))
		if err != nil || h.DatabaseStatus != "OK" || h.FilestoreStatus != "OK" || h.Status != "OK" {
			t.Fatalf("%s healthy: %+v, %v", v, h, err)
		}
		s.SetHealth(false, true)
		h, err = c.GetServerHealth(opsCtx(t))
		wantCode := 500
		if v == version112 {
			wantCode = 200
		}
		if err != nil || h.DatabaseStatus != "UNHEALTHY" || h.FilestoreStatus != "OK" || h.Status != "UNHEALTHY" || h.HTTPStatus != wantCode {
			t.Errorf("%s database down: %+v, %v", v, h, err)
		}
		if (h.ActiveSearchBackend != "") != (v == version112) || h.HasRootStatus != (v == version112) {
			t.Errorf("%s: era fields %+v", v, h)
		}
		// A plain ping neither checks nor counts as the health endpoint.
		if _, err := c.Ping(opsCtx(t)); err != nil {
			t.Errorf("%s: plain ping with the database down: %v", v, err)
		}
		if s.Requests(EndpointServerHealth) != 2 || s.Requests(EndpointPing) != 1 {
			t.Errorf("%s: counters %v", v, s.RequestCounts())
		}
	}
}

func TestOpsLicense(t *testing.T) {
	exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, v := range []string{version537, version112} {
		era := Era537
		if v == version112 {
			era = Era11
		}
		s := NewServer(Config{Era: era, Version: v})
		t.Cleanup(s.Close)
		s.SetLicense(&License{SkuShortName: "enterprise", Users: 1000, StartsAt: start, ExpiresAt: exp, IsTrial: true})
		l, err := opsClient(t, s, AdminToken).GetClientLicense(opsCtx(t))
		if err != nil || !l.IsLicensed || l.SkuShortName != "enterprise" || l.Users != 1000 || !l.ExpiresAt.Equal(exp) || !l.StartsAt.Equal(start) || !l.IsTrial {
			t.Errorf("%s admin: %+v, %v", v, l, err)
		}
		l, err = opsClient(t, s, UserToken).GetClientLicense(opsCtx(t))
		if err != nil || !l.IsLicensed || l.HasExpiresAt || l.HasStartsAt || l.Users != 1000 {
			t.Errorf("%s user: %+v, %v", v, l, err)
		}
		if (l.SkuShortName == "") != (v == version537) {
			t.Errorf("%s user: SkuShortName %q", v, l.SkuShortName)
		}
		s.SetLicense(nil)
		if l, err := opsClient(t, s, "").GetClientLicense(opsCtx(t)); err != nil || l.IsLicensed {
			t.Errorf("%s unlicensed: %+v, %v", v, l, err)
		}
		// Without SetLicense the license flag of X-Version-Id decides.
		s.SetVersion(v[:len(v)-len("false")] + "true")
		if l, err := opsClient(t, s, "").GetClientLicense(opsCtx(t)); err != nil || !l.IsLicensed || l.HasExpiresAt {
			t.Errorf("%s licensed by the version flag: %+v, %v", v, l, err)
		}
	}
}

func TestOpsJobs(t *testing.T) {
	s := NewServer(Config{})
	t.Cleanup(s.Close)
	base := time.Now().Add(-time.Hour)
	var jobs []Job
	for i := 0; i < 250; i++ {
		jobs = append(jobs, Job{Type: "active_users", Status: "success", CreateAt: base.Add(time.Duration(i) * time.Second)})
	}
	s.SetJobs(jobs)
	got, err := opsClient(t, s, AdminToken).GetJobs(opsCtx(t), 200)
	if err != nil || len(got) != 200 {
		t.Fatalf("%d jobs, %v", len(got), err)
	}
	for i := 1; i < len(got); i++ {
		if got[i].CreateAt > got[i-1].CreateAt {
			t.Fatal("jobs not newest first")
		}
	}
	if got[0].CreateAt != base.Add(249*time.Second).UnixMilli() || len(got[0].ID) != 26 {
		t.Errorf("newest job %+v", got[0])
	}
	if _, err := opsClient(t, s, UserToken).GetJobs(opsCtx(t), 200); !mmclient.IsForbidden(err) {
		t.Errorf("non-admin: %v", err)
	}
	if _, err := opsClient(t, s, "bad-token-000000").GetJobs(opsCtx(t), 200); !mmclient.IsUnauthorized(err) {
		t.Errorf("bad token: %v", err)
	}
}

func TestOpsPlugins(t *testing.T) {
	s := NewServer(Config{})
	t.Cleanup(s.Close)
	// Disabled: 501 for everyone with a session, before the permission check.
	for _, tok := range []string{AdminToken, UserToken} {
		if _, err := opsClient(t, s, tok).GetPluginStatuses(opsCtx(t)); !mmclient.IsPluginsDisabled(err) {
			t.Errorf("disabled, %s: %v", tok, err)
		}
	}
	s.SetPlugins(true, []PluginStatus{{PluginID: "playbooks", ClusterID: "n1", Name: "Playbooks", Version: "2.0.0", State: mmclient.PluginStateRunning}})
	ps, err := opsClient(t, s, AdminToken).GetPluginStatuses(opsCtx(t))
	if err != nil || len(ps) != 1 || ps[0].PluginID != "playbooks" || ps[0].State != mmclient.PluginStateRunning || ps[0].Version != "2.0.0" {
		t.Errorf("enabled: %+v, %v", ps, err)
	}
	if _, err := opsClient(t, s, UserToken).GetPluginStatuses(opsCtx(t)); !mmclient.IsForbidden(err) {
		t.Errorf("enabled, non-admin: %v", err)
	}
	if s.Requests(EndpointPluginStatuses) != 4 {
		t.Errorf("requests %d", s.Requests(EndpointPluginStatuses))
	}
}

func TestOpsAnalytics(t *testing.T) {
	s := NewServer(Config{Users: []UserSpec{
		{ID: "aaaaaaaaaaaaaaaaaaaaaaaaaa", Username: "a"},
		{ID: "bbbbbbbbbbbbbbbbbbbbbbbbbb", Username: "b", IsBot: true},
		{ID: "cccccccccccccccccccccccccc", Username: "c", Deactivated: true},
	}})
	t.Cleanup(s.Close)
	s.SetAnalytics(map[string]float64{"post_count": 12345, "total_websocket_connections": 7})
	rows, err := opsClient(t, s, AdminToken).GetAnalytics(opsCtx(t), "standard")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, r := range rows {
		got[r.Name] = r.Value
	}
	if len(rows) != 11 || got["post_count"] != 12345 || got["total_websocket_connections"] != 7 ||
		got["unique_user_count"] != 1 || got["inactive_user_count"] != 1 || got["total_master_db_connections"] != 2 {
		t.Errorf("rows %v", got)
	}
	if _, err := opsClient(t, s, UserToken).GetAnalytics(opsCtx(t), "standard"); !mmclient.IsForbidden(err) {
		t.Errorf("non-admin: %v", err)
	}
	s.SetFault(EndpointAnalytics, Fault{Code: 500})
	if _, err := opsClient(t, s, AdminToken).GetAnalytics(opsCtx(t), "standard"); err == nil {
		t.Error("fault not applied")
	}
}

func TestOpsEndpointsListed(t *testing.T) {
	names := map[string]bool{}
	for _, n := range Endpoints() {
		if n == "" {
			t.Fatal("empty endpoint name in Endpoints()")
		}
		names[n] = true
	}
	if EndpointLicense != EndpointLicenseClient {
		t.Errorf("client and fake name GET /license/client differently: %q, %q", EndpointLicense, EndpointLicenseClient)
	}
	for _, n := range []string{EndpointServerHealth, EndpointLicense, EndpointJobs, EndpointPluginStatuses, EndpointAnalytics, EndpointSAMLMetadata, EndpointPing, EndpointOther} {
		if !names[n] {
			t.Errorf("%s missing from Endpoints()", n)
		}
	}
	s := NewServer(Config{})
	t.Cleanup(s.Close)
	resp, err := s.Client().Post(s.URL+"/api/v4/plugins/statuses", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || s.Requests(EndpointPluginStatuses) != 1 {
		t.Errorf("POST /plugins/statuses: %d, counted %d", resp.StatusCode, s.Requests(EndpointPluginStatuses))
	}
}
