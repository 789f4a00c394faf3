package collector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

var analyticsInterval = kingpin.Flag("collector.analytics.interval",
	"Least time between two reads of the system console analytics (GET /analytics/old?name=standard counts every post: expensive on large servers); scrapes in between reuse the last answer.").
	Default("5m").Duration()

func init() {
	// Off by default: the standard analytics count posts and users in
	// the database.
	registerCollector("analytics", false, func(d Deps) (Collector, error) {
		return NewAnalyticsCollector(d, d.Options.analytics())
	})
}

// AnalyticsConfig configures the analytics collector.
type AnalyticsConfig struct {
	// Interval is the least time between two reads; 0 reads on every
	// scrape.
	Interval time.Duration
}

// Validate reports an invalid setting (a *SettingError).
func (cfg AnalyticsConfig) Validate() error {
	return notNegative("analytics.interval", cfg.Interval)
}

// AnalyticsCollector reports the system console's standard analytics
// (GET /api/v4/analytics/old?name=standard, system admins): websocket and
// database connections of all nodes, active users, posts, channels, teams.
type AnalyticsCollector struct {
	client *mmclient.Client
	cache  *intervalCache[[]mmclient.AnalyticsRow]
}

// NewAnalyticsCollector returns an analytics collector.
func NewAnalyticsCollector(deps Deps, cfg AnalyticsConfig) (*AnalyticsCollector, error) {
	if deps.Client == nil {
		return nil, errors.New("analytics collector: nil client")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("analytics collector: %w", err)
	}
	return &AnalyticsCollector{client: deps.Client, cache: newIntervalCache[[]mmclient.AnalyticsRow](cfg.Interval)}, nil
}

var (
	websocketConnectionsDesc = newDesc(
		prometheus.BuildFQName(namespace, "", "websocket_connections"),
		"Websocket connections to Mattermost (all cluster nodes), from the system console analytics.",
		nil, nil,
	)
	dbConnectionsDesc = newDesc(
		prometheus.BuildFQName(namespace, "", "db_connections"),
		"Open connections from Mattermost (all cluster nodes) to its master database and read replicas, from the system console analytics.",
		[]string{"role"}, nil,
	)
	activeUsersDesc = newDesc(
		prometheus.BuildFQName(namespace, "", "active_users"),
		"Users (bots and deactivated accounts excluded) active in the last day or month (31 days), from the system console analytics.",
		[]string{"window"}, nil,
	)
	inactiveUsersDesc = newDesc(
		prometheus.BuildFQName(namespace, "", "inactive_users"),
		"Deactivated user accounts, from the system console analytics.",
		nil, nil,
	)
	userAccountsDesc = newDesc(
		prometheus.BuildFQName(namespace, "", "user_accounts"),
		"Active user accounts (not deactivated, bots excluded), as counted by the system console analytics (unique_user_count).",
		nil, nil,
	)
	postsDesc = newDesc(
		prometheus.BuildFQName(namespace, "", "posts"),
		"Posts in the database, from the system console analytics (absent when the server skips the count: 5.x servers with more users than AnalyticsSettings.MaxUsersForStatistics).",
		nil, nil,
	)
	channelsDesc = newDesc(
		prometheus.BuildFQName(namespace, "", "channels"),
		"Public and private channels, from the system console analytics.",
		[]string{"type"}, nil,
	)
	teamsDesc = newDesc(
		prometheus.BuildFQName(namespace, "", "teams"),
		"Teams, from the system console analytics.",
		nil, nil,
	)
	analyticsTimestampDesc = newDesc(
		prometheus.BuildFQName(namespace, "analytics", "timestamp_seconds"),
		"When the analytics behind the mattermost_* analytics gauges were received (fetched at most once per --collector.analytics.interval).",
		nil, nil,
	)
)

// analyticsRowMetric maps a standard analytics row to its metric.
type analyticsRowMetric struct {
	desc  *prometheus.Desc
	label []string
}

var analyticsRows = map[string]analyticsRowMetric{
	"total_websocket_connections": {websocketConnectionsDesc, nil},
	"total_master_db_connections": {dbConnectionsDesc, []string{"master"}},
	"total_read_db_connections":   {dbConnectionsDesc, []string{"read"}},
	"daily_active_users":          {activeUsersDesc, []string{"day"}},
	"monthly_active_users":        {activeUsersDesc, []string{"month"}},
	"inactive_user_count":         {inactiveUsersDesc, nil},
	"unique_user_count":           {userAccountsDesc, nil},
	"post_count":                  {postsDesc, nil},
	"channel_open_count":          {channelsDesc, []string{"public"}},
	"channel_private_count":       {channelsDesc, []string{"private"}},
	"team_count":                  {teamsDesc, nil},
}

// PermissionHint implements PermissionHinter.
func (c *AnalyticsCollector) PermissionHint() string {
	return "the token's account needs the system_admin role for /analytics/old"
}

// Update implements Collector.
func (c *AnalyticsCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	rows, at, err := c.cache.get(ctx, func(ctx context.Context) ([]mmclient.AnalyticsRow, error) {
		return c.client.GetAnalytics(ctx, "standard")
	})
	if err != nil {
		return fmt.Errorf("analytics: %w", err)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		m, ok := analyticsRows[r.Name]
		// -1 marks a count the server skipped; a repeated row would
		// collide.
		if !ok || r.Value < 0 || seen[r.Name] {
			continue
		}
		seen[r.Name] = true
		ch <- prometheus.MustNewConstMetric(m.desc, prometheus.GaugeValue, r.Value, m.label...)
	}
	if len(seen) == 0 {
		return fmt.Errorf("analytics: none of the %d rows is a known standard count", len(rows))
	}
	ch <- prometheus.MustNewConstMetric(analyticsTimestampDesc, prometheus.GaugeValue, float64(at.UnixNano())/1e9)
	return nil
}
