package collector

import (
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

var analyticsMetricNames = []string{
	"mattermost_websocket_connections", "mattermost_db_connections", "mattermost_active_users", "mattermost_inactive_users",
	"mattermost_user_accounts", "mattermost_posts", "mattermost_channels", "mattermost_teams", "mattermost_analytics_timestamp_seconds",
}

func analyticsWant(ws, master, read, day, month, inactive, accounts, posts, public, private, teams, ts string) string {
	lines := []string{
		`mattermost_websocket_connections ` + ws,
		`mattermost_db_connections{role="master"} ` + master,
		`mattermost_db_connections{role="read"} ` + read,
		`mattermost_active_users{window="day"} ` + day,
		`mattermost_active_users{window="month"} ` + month,
		`mattermost_inactive_users ` + inactive,
		`mattermost_user_accounts ` + accounts,
	}
	if posts != "" {
		lines = append(lines, `mattermost_posts `+posts)
	}
	lines = append(lines,
		`mattermost_channels{type="private"} `+private,
		`mattermost_channels{type="public"} `+public,
		`mattermost_teams `+teams,
		`mattermost_analytics_timestamp_seconds `+ts,
	)
	return sigExpo(lines...)
}

func newTestAnalyticsCollector(t *testing.T, url, token string, interval time.Duration, clock *fakeClock) *AnalyticsCollector {
	t.Helper()
	c, err := NewAnalyticsCollector(Deps{Client: fakeClient(t, url, token, nil)}, AnalyticsConfig{Interval: interval})
	if err != nil {
		t.Fatal(err)
	}
	c.cache.now = clock.now
	return c
}

func TestAnalyticsCollectorFixtures(t *testing.T) {
	tests := []struct {
		era  string
		want string
	}{
		{"real-mattermost", analyticsWant("0", "7", "0", "149", "149", "12", "1990", "4", "0", "0", "0", "1.8e+09")},
		{"current-mattermost", analyticsWant("0", "2", "0", "150", "150", "10", "992", "0", "0", "0", "0", "1.8e+09")},
	}
	for _, tc := range tests {
		t.Run(tc.era, func(t *testing.T) {
			s := newFixtureReplay(t, map[string]fixtureRoute{"/api/v4/analytics/old": {tc.era, "analytics_old_standard_admin"}})
			a := &updateAdapter{c: newTestAnalyticsCollector(t, s.URL, "fixturetoken0000000000000a", 5*time.Minute, newFakeClock())}
			if err := testutil.CollectAndCompare(a, strings.NewReader(tc.want), analyticsMetricNames...); err != nil {
				t.Error(err)
			}
			if err := a.lastErr(); err != nil {
				t.Errorf("Update: %v", err)
			}
		})
	}
}

func TestAnalyticsCollectorNonAdmin(t *testing.T) {
	s := newFixtureReplay(t, map[string]fixtureRoute{"/api/v4/analytics/old": {"real-mattermost", "analytics_old_standard_nonadmin"}})
	c := newTestAnalyticsCollector(t, s.URL, "fixturetoken0000000000000a", 5*time.Minute, newFakeClock())
	a := &updateAdapter{c: c}
	if n := testutil.CollectAndCount(a, analyticsMetricNames...); n != 0 {
		t.Errorf("%d series after 403", n)
	}
	if err := a.lastErr(); !mmclient.IsForbidden(err) {
		t.Errorf("Update error = %v", err)
	}
	// A failure is not cached: the next scrape asks again.
	testutil.CollectAndCount(a, analyticsMetricNames...)
	if n := s.count("/api/v4/analytics/old"); n != 2 {
		t.Errorf("requests = %d, want 2", n)
	}
	if !strings.Contains(c.PermissionHint(), "system_admin") {
		t.Error("hint does not name the role")
	}
}

// At most one read per interval; a skipped count (-1) is not exported.
func TestAnalyticsCollectorInterval(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{Users: []mmtest.UserSpec{
		{ID: "aaaaaaaaaaaaaaaaaaaaaaaaaa", Username: "a"},
		{ID: "bbbbbbbbbbbbbbbbbbbbbbbbbb", Username: "b"},
		{ID: "cccccccccccccccccccccccccc", Username: "c", Deactivated: true},
	}})
	s.SetAnalytics(map[string]float64{"total_websocket_connections": 42, "post_count": -1, "channel_open_count": 3, "team_count": 1, "daily_active_users": 2, "monthly_active_users": 2})
	clock := newFakeClock()
	a := &updateAdapter{c: newTestAnalyticsCollector(t, s.URL, mmtest.AdminToken, 5*time.Minute, clock)}
	want := analyticsWant("42", "2", "0", "2", "2", "1", "2", "", "3", "0", "1", "1.8e+09")
	if err := testutil.CollectAndCompare(a, strings.NewReader(want), analyticsMetricNames...); err != nil {
		t.Error(err)
	}
	s.SetAnalytics(map[string]float64{"total_websocket_connections": 50, "post_count": 1000})
	clock.add(4 * time.Minute)
	if err := testutil.CollectAndCompare(a, strings.NewReader(want), analyticsMetricNames...); err != nil {
		t.Errorf("within the interval: %v", err)
	}
	if n := s.Requests(mmclient.EndpointAnalytics); n != 1 {
		t.Errorf("requests within the interval = %d, want 1", n)
	}
	clock.add(time.Minute)
	want = analyticsWant("50", "2", "0", "0", "0", "1", "2", "1000", "0", "0", "0", "1.8000003e+09")
	if err := testutil.CollectAndCompare(a, strings.NewReader(want), analyticsMetricNames...); err != nil {
		t.Errorf("after the interval: %v", err)
	}
	if n := s.Requests(mmclient.EndpointAnalytics); n != 2 {
		t.Errorf("requests after the interval = %d, want 2", n)
	}
}

// An answer with no known row fails rather than exporting nothing silently.
func TestAnalyticsCollectorUnknownRows(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{})
	s.SetFault(mmtest.EndpointAnalytics, mmtest.Fault{Code: 200, Body: `[{"name":"something_else","value":1},{"name":"","value":-1}]`, ContentType: "application/json"})
	a := &updateAdapter{c: newTestAnalyticsCollector(t, s.URL, mmtest.AdminToken, 0, newFakeClock())}
	if n := testutil.CollectAndCount(a, analyticsMetricNames...); n != 0 {
		t.Errorf("%d series", n)
	}
	if err := a.lastErr(); err == nil || !strings.Contains(err.Error(), "none of the 2 rows") {
		t.Errorf("Update error = %v", err)
	}
}

// The analytics collector is off by default, the others on.
func TestSignalCollectorsDefaults(t *testing.T) {
	for name, on := range map[string]bool{"health": true, "license": true, "jobs": true, "plugins": true, "analytics": false} {
		f := kingpin.CommandLine.GetFlag("collector." + name)
		if f == nil {
			t.Fatalf("no --collector.%s flag", name)
		}
		want := "(default: disabled)"
		if on {
			want = "(default: enabled)"
		}
		if !strings.Contains(f.Model().Help, want) {
			t.Errorf("--collector.%s help %q does not state %q", name, f.Model().Help, want)
		}
	}
	for _, flag := range []string{"collector.health.interval", "collector.analytics.interval", "collector.jobs.interval"} {
		if kingpin.CommandLine.GetFlag(flag) == nil {
			t.Errorf("no --%s flag", flag)
		}
	}
	if _, err := NewAnalyticsCollector(Deps{Client: fakeClient(t, "http://127.0.0.1:1", "", nil)}, AnalyticsConfig{Interval: -1}); err == nil {
		t.Error("negative interval accepted")
	}
}
