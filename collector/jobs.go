package collector

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

var jobsInterval = kingpin.Flag("collector.jobs.interval",
	"Least time between two reads of GET /jobs; scrapes in between reuse the last answer. Mattermost 11 logs a warning for every job type without a read permission at each read (4 lines on 11.0, whatever the token), so reading at every scrape fills its log.").
	Default("60s").Duration()

func init() {
	registerCollector("jobs", true, func(d Deps) (Collector, error) {
		return NewJobsCollector(d, d.Options.jobs())
	})
}

// JobsConfig configures the jobs collector.
type JobsConfig struct {
	// Interval is the least time between two reads of GET /jobs; 0 reads
	// on every scrape.
	Interval time.Duration
}

// Validate reports an invalid setting (a *SettingError).
func (cfg JobsConfig) Validate() error {
	return notNegative("jobs.interval", cfg.Interval)
}

// jobsPerRequest is how many of the most recent jobs (all types) one scrape
// reads: the server's largest page.
const jobsPerRequest = mmclient.MaxPerPage

// maxJobTypeLen bounds the type label.
const maxJobTypeLen = 64

// maxOtherJobTypes bounds the job types outside knownJobTypes the collector
// exports (types are server-defined; plugins and newer versions add some).
const maxOtherJobTypes = 20

// knownJobTypes are the job types of Mattermost's model/job.go, 5.x to
// 11.x. They are always accepted as label values.
var knownJobTypes = map[string]bool{
	"data_retention": true, "message_export": true, "cli_message_export": true,
	"elasticsearch_post_indexing": true, "elasticsearch_post_aggregation": true, "elasticsearch_fix_channel_index": true,
	"bleve_post_indexing": true, "ldap_sync": true, "migrations": true, "plugins": true,
	"expiry_notify": true, "product_notices": true, "active_users": true,
	"import_process": true, "import_delete": true, "export_process": true, "export_delete": true,
	"cloud": true, "resend_invitation_email": true, "extract_content": true,
	"last_accessible_post": true, "last_accessible_file": true, "upgrade_notify_admin": true, "trial_notify_admin": true,
	"post_persistent_notifications": true, "install_plugin_notify_admin": true, "hosted_purchase_screening": true,
	"s3_path_migration": true, "cleanup_desktop_tokens": true, "delete_empty_drafts_migration": true,
	"refresh_materialized_views": true, "delete_orphan_drafts_migration": true, "export_users_to_csv": true,
	"delete_dms_preferences_migration": true, "mobile_session_metadata": true, "access_control_sync": true,
	"push_proxy_auth": true, "delete_expired_posts": true,
}

// JobsCollector reports the state of Mattermost's background jobs (data
// retention, LDAP sync, message export, indexing, imports, ...) from the
// most recent jobs of GET /api/v4/jobs.
type JobsCollector struct {
	client *mmclient.Client
	cache  *intervalCache[[]mmclient.Job]
	now    func() time.Time

	mu sync.Mutex
	// others are the accepted types outside knownJobTypes, kept so that
	// the label set stays stable (at most maxOtherJobTypes).
	others map[string]bool
	// lastSuccess is the latest success time seen per type, kept across
	// scrapes: a type whose last success has left the most recent page
	// keeps its timestamp.
	lastSuccess map[string]float64
}

// NewJobsCollector returns a jobs collector.
func NewJobsCollector(deps Deps, cfg JobsConfig) (*JobsCollector, error) {
	if deps.Client == nil {
		return nil, errors.New("jobs collector: nil client")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("jobs collector: %w", err)
	}
	return &JobsCollector{client: deps.Client, cache: newIntervalCache[[]mmclient.Job](cfg.Interval), now: time.Now,
		others: map[string]bool{}, lastSuccess: map[string]float64{}}, nil
}

var (
	jobLastSuccessDesc = newDesc(
		prometheus.BuildFQName(namespace, "job", "last_success_timestamp_seconds"),
		"When the newest successful job of this type seen by the exporter last reported activity (last_activity_at), in seconds since the epoch.",
		[]string{"type"}, nil,
	)
	jobLastStatusDesc = newDesc(
		prometheus.BuildFQName(namespace, "job", "last_status"),
		"1 for the status of the newest job of this type (by create time) among the most recent jobs, 0 for the other statuses.",
		[]string{"type", "status"}, nil,
	)
	jobsPendingDesc = newDesc(
		prometheus.BuildFQName(namespace, "jobs", "pending"),
		"Jobs of this type waiting to run (status pending) among the most recent jobs.",
		[]string{"type"}, nil,
	)
	jobOldestPendingDesc = newDesc(
		prometheus.BuildFQName(namespace, "job", "oldest_pending_age_seconds"),
		"How long the oldest pending job of this type has waited since its creation, in seconds (0 when none is pending).",
		[]string{"type"}, nil,
	)
	jobsTimestampDesc = newDesc(
		prometheus.BuildFQName(namespace, "jobs", "timestamp_seconds"),
		"When the jobs list behind the mattermost_job* metrics was received (read at most once per --collector.jobs.interval).",
		nil, nil,
	)
	jobsDroppedTypesDesc = newDesc(
		prometheus.BuildFQName(exporterNamespace, "jobs", "dropped_types"),
		"Job types seen in the last answer but not exported because more unknown types than the exporter accepts were listed.",
		nil, nil,
	)
)

// PermissionHint implements PermissionHinter.
func (c *JobsCollector) PermissionHint() string {
	return "the token's account needs the system_admin role (or system_read_only_admin/system_manager, which may read some job types) for /jobs"
}

// jobsOfType is what one scrape learns about one job type.
type jobsOfType struct {
	newest        *mmclient.Job
	pending       int
	oldestPending int64 // create_at (ms) of the oldest pending job; 0 = none
}

// Update implements Collector.
func (c *JobsCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	jobs, at, err := c.cache.get(ctx, func(ctx context.Context) ([]mmclient.Job, error) {
		return c.client.GetJobs(ctx, jobsPerRequest)
	})
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	ch <- prometheus.MustNewConstMetric(jobsTimestampDesc, prometheus.GaugeValue, float64(at.UnixNano())/1e9)
	// A reused answer is aggregated again: the ages of pending jobs grow
	// with now, and the success times kept are maxima (no double count).
	for _, m := range c.metrics(jobs, c.now()) {
		ch <- m
	}
	return nil
}

// metrics aggregates one answer into metrics, under c.mu (nothing is sent
// to a scrape's channel while the lock is held).
func (c *JobsCollector) metrics(jobs []mmclient.Job, now time.Time) []prometheus.Metric {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []prometheus.Metric
	emit := func(desc *prometheus.Desc, v float64, labels ...string) {
		out = append(out, prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...))
	}
	byType := map[string]*jobsOfType{}
	dropped := map[string]bool{}
	for i := range jobs {
		j := &jobs[i]
		typ, ok := c.acceptType(j.Type)
		if !ok {
			if len(dropped) < 1000 {
				dropped[boundLabel(j.Type, maxJobTypeLen)] = true
			}
			continue
		}
		agg := byType[typ]
		if agg == nil {
			agg = &jobsOfType{}
			byType[typ] = agg
		}
		// The server lists newest first; ties keep the first listed.
		if agg.newest == nil || j.CreateAt > agg.newest.CreateAt {
			agg.newest = j
		}
		switch j.Status {
		case mmclient.JobStatusPending:
			agg.pending++
			if agg.oldestPending == 0 || j.CreateAt < agg.oldestPending {
				agg.oldestPending = j.CreateAt
			}
		case mmclient.JobStatusSuccess:
			at := j.LastActivityAt
			if at <= 0 {
				at = max(j.StartAt, j.CreateAt)
			}
			if sec := float64(at) / 1e3; at > 0 && sec > c.lastSuccess[typ] {
				c.lastSuccess[typ] = sec
			}
		}
	}

	types := make([]string, 0, len(byType)+len(c.lastSuccess))
	for t := range byType {
		types = append(types, t)
	}
	for t := range c.lastSuccess {
		if byType[t] == nil {
			types = append(types, t)
		}
	}
	sort.Strings(types)
	for _, t := range types {
		if sec, ok := c.lastSuccess[t]; ok {
			emit(jobLastSuccessDesc, sec, t)
		}
		agg := byType[t]
		if agg == nil {
			// Only remembered: nothing of this type among the recent jobs.
			emit(jobsPendingDesc, 0, t)
			emit(jobOldestPendingDesc, 0, t)
			continue
		}
		for _, st := range mmclient.KnownJobStatuses {
			emit(jobLastStatusDesc, boolToFloat(agg.newest.Status == st), t, st)
		}
		emit(jobsPendingDesc, float64(agg.pending), t)
		age := 0.0
		if agg.oldestPending > 0 {
			age = max(0, now.Sub(time.UnixMilli(agg.oldestPending)).Seconds())
		}
		emit(jobOldestPendingDesc, age, t)
	}
	emit(jobsDroppedTypesDesc, float64(len(dropped)))
	return out
}

// acceptType returns the label value of a job type and whether it is
// exported: known types always, others while fewer than maxOtherJobTypes
// have been accepted. c.mu is held.
func (c *JobsCollector) acceptType(raw string) (string, bool) {
	t := boundLabel(raw, maxJobTypeLen)
	if t == "" {
		return "", false
	}
	if knownJobTypes[t] || c.others[t] {
		return t, true
	}
	if len(c.others) >= maxOtherJobTypes {
		return "", false
	}
	c.others[t] = true
	return t, true
}
