package collector

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

var healthInterval = kingpin.Flag("collector.health.interval",
	"Least time between two deep health checks (GET /system/ping?get_server_status=true writes to Mattermost's database and tests its file store); scrapes in between reuse the last answer.").
	Default("60s").Duration()

func init() {
	registerCollector("health", true, func(d Deps) (Collector, error) {
		return NewHealthCollector(d, d.Options.health())
	})
}

// HealthConfig configures the health collector.
type HealthConfig struct {
	// Interval is the least time between two checks; 0 checks on every
	// scrape.
	Interval time.Duration
}

// Validate reports an invalid setting (a *SettingError).
func (cfg HealthConfig) Validate() error {
	return notNegative("health.interval", cfg.Interval)
}

// HealthCollector reports Mattermost's own deep health check: whether its
// database and file store work.
type HealthCollector struct {
	client *mmclient.Client
	cache  *intervalCache[*mmclient.ServerHealth]
}

// NewHealthCollector returns a health collector.
func NewHealthCollector(deps Deps, cfg HealthConfig) (*HealthCollector, error) {
	if deps.Client == nil {
		return nil, errors.New("health collector: nil client")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("health collector: %w", err)
	}
	return &HealthCollector{client: deps.Client, cache: newIntervalCache[*mmclient.ServerHealth](cfg.Interval)}, nil
}

// maxSearchBackendLen bounds the backend label (the server's free text).
const maxSearchBackendLen = 64

var (
	healthStatusDesc = newDesc(
		prometheus.BuildFQName(namespace, "health", "status"),
		"1 if Mattermost's deep health check (GET /api/v4/system/ping?get_server_status=true) reports the component OK, else 0; component=database: a write and delete in the database, component=filestore: a connection test of the file store.",
		[]string{"component"}, nil,
	)
	healthTimestampDesc = newDesc(
		prometheus.BuildFQName(namespace, "health", "timestamp_seconds"),
		"When the health answer behind mattermost_health_status was received (the check runs at most once per --collector.health.interval).",
		nil, nil,
	)
	searchBackendInfoDesc = newDesc(
		prometheus.BuildFQName(namespace, "search_backend", "info"),
		"The search backend Mattermost uses (ActiveSearchBackend of the ping, e.g. database, elasticsearch, opensearch, bleve); always 1. Absent on servers that do not report it (before 9.x).",
		[]string{"backend"}, nil,
	)
)

// Update implements Collector.
func (c *HealthCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	h, at, err := c.cache.get(ctx, c.client.GetServerHealth)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	ch <- prometheus.MustNewConstMetric(healthTimestampDesc, prometheus.GaugeValue, float64(at.UnixNano())/1e9)
	if h.ActiveSearchBackend != "" {
		ch <- prometheus.MustNewConstMetric(searchBackendInfoDesc, prometheus.GaugeValue, 1, boundLabel(h.ActiveSearchBackend, maxSearchBackendLen))
	}
	var missing []string
	for _, comp := range []struct{ name, status string }{
		{"database", h.DatabaseStatus},
		{"filestore", h.FilestoreStatus},
	} {
		if comp.status == "" {
			missing = append(missing, comp.name)
			continue
		}
		ch <- prometheus.MustNewConstMetric(healthStatusDesc, prometheus.GaugeValue, boolToFloat(strings.EqualFold(comp.status, mmclient.HealthOK)), comp.name)
	}
	if len(missing) > 0 {
		// A proxy that strips the query, or a server that ignores
		// get_server_status: the answer says nothing about these.
		return fmt.Errorf("health check: the answer has no status for %s", strings.Join(missing, " and "))
	}
	return nil
}
