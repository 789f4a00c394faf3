package collector

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/mmexporter/mattermost_exporter/internal/testhelp"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// Test helpers of the health, license, jobs, plugins and analytics
// collectors.

// sigHelp holds the expected HELP text of every metric of those collectors.
var sigHelp = map[string]string{
	"mattermost_health_status":                       "1 if Mattermost's deep health check (GET /api/v4/system/ping?get_server_status=true) reports the component OK, else 0; component=database: a write and delete in the database, component=filestore: a connection test of the file store.",
	"mattermost_health_timestamp_seconds":            "When the health answer behind mattermost_health_status was received (the check runs at most once per --collector.health.interval).",
	"mattermost_search_backend_info":                 "The search backend Mattermost uses (ActiveSearchBackend of the ping, e.g. database, elasticsearch, opensearch, bleve); always 1. Absent on servers that do not report it (before 9.x).",
	"mattermost_license_licensed":                    "1 if a license is installed (Enterprise or Professional features), else 0.",
	"mattermost_license_expiry_timestamp_seconds":    "When the installed license expires (ExpiresAt), in seconds since the epoch. Only with a token allowed to read the license dates (system admin).",
	"mattermost_license_start_timestamp_seconds":     "When the installed license starts (StartsAt), in seconds since the epoch. Only with a token allowed to read the license dates (system admin).",
	"mattermost_license_users":                       "User seats of the installed license.",
	"mattermost_license_info":                        "The installed license's SKU (empty when the token may not read it) and whether it is a trial; always 1.",
	"mattermost_job_last_success_timestamp_seconds":  "When the newest successful job of this type seen by the exporter last reported activity (last_activity_at), in seconds since the epoch.",
	"mattermost_job_last_status":                     "1 for the status of the newest job of this type (by create time) among the most recent jobs, 0 for the other statuses.",
	"mattermost_jobs_pending":                        "Jobs of this type waiting to run (status pending) among the most recent jobs.",
	"mattermost_job_oldest_pending_age_seconds":      "How long the oldest pending job of this type has waited since its creation, in seconds (0 when none is pending).",
	"mattermost_plugins_enabled":                     "1 if plugins are enabled on the server (PluginSettings.Enable), 0 if the server answers that plugins are disabled.",
	"mattermost_plugin_nodes":                        "Cluster nodes reporting the plugin in this state (not_running, starting, running, failed_to_start, failed_to_stay_running, stopping).",
	"mattermost_plugin_info":                         "One series per plugin id, name and version reported by GET /api/v4/plugins/statuses; more than one series for a plugin means its nodes run different versions. Always 1.",
	"mattermost_plugin_versions":                     "Distinct versions of the plugin across the nodes reporting it; more than 1 means version skew.",
	"mattermost_websocket_connections":               "Websocket connections to Mattermost (all cluster nodes), from the system console analytics.",
	"mattermost_db_connections":                      "Open connections from Mattermost (all cluster nodes) to its master database and read replicas, from the system console analytics.",
	"mattermost_active_users":                        "Users (bots and deactivated accounts excluded) active in the last day or month (31 days), from the system console analytics.",
	"mattermost_inactive_users":                      "Deactivated user accounts, from the system console analytics.",
	"mattermost_user_accounts":                       "Active user accounts (not deactivated, bots excluded), as counted by the system console analytics (unique_user_count).",
	"mattermost_posts":                               "Posts in the database, from the system console analytics (absent when the server skips the count: 5.x servers with more users than AnalyticsSettings.MaxUsersForStatistics).",
	"mattermost_channels":                            "Public and private channels, from the system console analytics.",
	"mattermost_teams":                               "Teams, from the system console analytics.",
	"mattermost_analytics_timestamp_seconds":         "When the analytics behind the mattermost_* analytics gauges were received (fetched at most once per --collector.analytics.interval).",
	"mattermost_jobs_timestamp_seconds":              "When the jobs list behind the mattermost_job* metrics was received (read at most once per --collector.jobs.interval).",
	"mattermost_exporter_jobs_dropped_types":         "Job types seen in the last answer but not exported because more unknown types than the exporter accepts were listed.",
	"mattermost_exporter_plugins_dropped":            "Plugins listed by /plugins/statuses but not exported because more plugins than the exporter accepts were listed.",
	"mattermost_exporter_collector_success":          "1 if the collector's last collection (this scrape) worked, else 0.",
	"mattermost_exporter_collector_duration_seconds": "How long the collector took during this scrape, in seconds.",
	"mattermost_exporter_api_requests_total":         "HTTP requests the exporter made to the Mattermost API, by endpoint and HTTP status code (code=\"error\" when no answer came back).",
	"mattermost_exporter_ratelimit_remaining":        "Requests left in Mattermost's rate-limit bucket for the exporter, from the last X-Ratelimit-Remaining header seen (present once the server has sent one).",
	"mattermost_up":                                  "1 if Mattermost's API answered this scrape's GET /api/v4/system/ping with status OK, or refused it with HTTP 429 (rate limited, see mattermost_exporter_api_requests_total), else 0 (unreachable, error, or UNHEALTHY).",
	"mattermost_server_info":                         "Mattermost server version, from the X-Version-Id header of this scrape's answers; always 1. Absent when the server did not answer.",
}

// sigExpo builds expected exposition text (like expo) with sigHelp.
func sigExpo(samples ...string) string { return expoWith(sigHelp, samples...) }

// fixtureReplay serves captured answers of testdata/<era>/<name>.{meta,json}
// by request path; other paths answer 418.
type fixtureReplay struct {
	*httptest.Server
	mu    sync.Mutex
	calls map[string]int
}

type fixtureRoute struct{ era, name string }

func newFixtureReplay(t *testing.T, routes map[string]fixtureRoute) *fixtureReplay {
	t.Helper()
	answers := map[string]testhelp.Fixture{}
	for path, r := range routes {
		answers[path] = testhelp.LoadFixture(t, filepath.Join("..", "testdata", r.era), r.name)
	}
	s := &fixtureReplay{calls: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[r.URL.Path]++
		s.mu.Unlock()
		a, ok := answers[r.URL.Path]
		if !ok {
			http.Error(w, "no fixture", http.StatusTeapot)
			return
		}
		a.Serve(w)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *fixtureReplay) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// fakeClock is a settable clock for the interval caches.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func ctx10s(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Every metric of the five collectors, with every optional series present,
// passes promlint and has the HELP text of sigHelp.
func TestSignalMetricsLint(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{Era: mmtest.Era11, Version: fakeVersion112})
	s.SetLicense(&mmtest.License{SkuShortName: "enterprise", Users: 10, StartsAt: time.Unix(1_700_000_000, 0), ExpiresAt: time.Unix(1_900_000_000, 0)})
	s.SetJobs([]mmtest.Job{
		{Type: "ldap_sync", Status: "success", CreateAt: time.Now().Add(-time.Hour), LastActivityAt: time.Now()},
		{Type: "ldap_sync", Status: "pending", CreateAt: time.Now()},
	})
	s.SetPlugins(true, []mmtest.PluginStatus{{PluginID: "playbooks", Name: "Playbooks", Version: "2.0.0", State: 2}})
	client := fakeClient(t, s.URL, mmtest.AdminToken, nil)
	reg := prometheus.NewPedanticRegistry()
	for _, mk := range []func() (Collector, error){
		func() (Collector, error) { return NewHealthCollector(Deps{Client: client}, HealthConfig{}) },
		func() (Collector, error) { return NewLicenseCollector(Deps{Client: client}) },
		func() (Collector, error) { return NewJobsCollector(Deps{Client: client}, JobsConfig{}) },
		func() (Collector, error) { return NewPluginsCollector(Deps{Client: client}) },
		func() (Collector, error) { return NewAnalyticsCollector(Deps{Client: client}, AnalyticsConfig{}) },
	} {
		c, err := mk()
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.Register(&updateAdapter{c: c}); err != nil {
			t.Fatal(err)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 28 {
		t.Errorf("%d metric families, want 28", len(mfs))
	}
	for _, mf := range mfs {
		if want, ok := sigHelp[mf.GetName()]; !ok || want != mf.GetHelp() {
			t.Errorf("%s: HELP %q, sigHelp has %q", mf.GetName(), mf.GetHelp(), want)
		}
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// eraOf is the fake's era of one of the two recorded versions.
func eraOf(version string) mmtest.Era {
	if version == fakeVersion112 {
		return mmtest.Era11
	}
	return mmtest.Era537
}
