package collector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mmexporter/mattermost_exporter/collector/internal/sweep"
	"github.com/mmexporter/mattermost_exporter/collector/internal/userids"
	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// The users collector counts active Mattermost users by status, in three
// parts:
//
//   - userids.Cache (internal/userids) walks GET /users in the background
//     and publishes an immutable snapshot of the active user ids; never on
//     the scrape path.
//   - sweep.Sweeper (internal/sweep) asks POST /users/status/ids for every
//     id of a snapshot, one sweep at a time, and keeps the last complete
//     result.
//   - UsersCollector.Update (here) reads both and emits the metrics; every
//     users metric family is declared here.
//
// Until the first walk has completed the collector reports success 0 and no
// counts.

// Limits of --collector.users.batch-size: the server fails a request with more
// than 65,535 ids missing from its status cache, so batches stay well below.
const (
	minUsersBatchSize = 1
	maxUsersBatchSize = 10000
)

var (
	usersIncludeBots = kingpin.Flag("collector.users.include-bots",
		"Count bot accounts in mattermost_users too.").Default("false").Bool()
	usersBatchSize = kingpin.Flag("collector.users.batch-size",
		fmt.Sprintf("User ids per POST /users/status/ids request (%d to %d). Mattermost 11 caps request bodies at ServiceSettings.MaximumPayloadSizeBytes (default 300000 bytes, about 10,000 ids); a batch answered 413 is halved and the smaller size kept.", minUsersBatchSize, maxUsersBatchSize)).Default("1000").Int()
	usersConcurrency = kingpin.Flag("collector.users.concurrency",
		"Status requests in flight at once during a sweep.").Default("4").Int()
	usersRefreshInterval = kingpin.Flag("collector.users.refresh-interval",
		"How often the user id cache is rebuilt by walking GET /users in the background (a change of GET /users/stats brings it forward).").Default("15m").Duration()
	usersWalkConcurrency = kingpin.Flag("collector.users.walk-concurrency",
		"GET /users pages in flight at once during a walk of the user ids (1 to 16), all paced by the same limiter and slowed down by any 429. Mattermost pages with OFFSET, so later pages cost more: concurrency divides the walk's time as long as the database has idle cores.").Default("4").Int()
	usersCacheFile = kingpin.Flag("collector.users.cache-file",
		"File where the user id cache is kept across restarts (e.g. /var/lib/mattermost_exporter/users.ids with systemd StateDirectory=, or a file on a Kubernetes volume); written atomically after each walk and each applied incremental refresh, and at start served at once if it belongs to the same server and GET /users/stats still matches it. Empty = off. With several targets (--config.file) give each target its own users: cache_file; a file named here serves one server only, the targets of other servers keep none.").Default("").String()
	usersMaxAge = kingpin.Flag("collector.users.max-age",
		"Serve a status sweep younger than this instead of starting a new one (for HA Prometheus pairs); 0 = every scrape sweeps (concurrent scrapes always share one sweep).").Default("0s").Duration()
)

// UsersCacheFileFlag is --collector.users.cache-file: the cache file of
// every target of a config file naming none (probe gives it to the targets
// of one server).
func UsersCacheFileFlag() string { return *usersCacheFile }

// UsersConfig configures the users collector; the flags map onto it.
type UsersConfig struct {
	IncludeBots     bool          // count bots too
	BatchSize       int           // ids per status request, 1..10000
	Concurrency     int           // status requests in flight, >= 1
	RefreshInterval time.Duration // id cache refresh period, > 0
	MaxAge          time.Duration // reuse a sweep younger than this; 0 = never
	// WalkConcurrency is the number of GET /users pages in flight during a
	// walk, 1..16.
	WalkConcurrency int
	// CacheFile keeps the id cache across restarts ("" = off).
	CacheFile string
}

// DefaultUsersConfig returns the flags' defaults.
func DefaultUsersConfig() UsersConfig {
	return UsersConfig{
		BatchSize:       1000,
		Concurrency:     4,
		RefreshInterval: 15 * time.Minute,
		WalkConcurrency: defaultWalkConcurrency,
	}
}

// defaultWalkConcurrency: see docs/performance.md, "Restarts, walks and new
// accounts", for the measurement behind it.
const (
	defaultWalkConcurrency = 4
	maxWalkConcurrency     = 16
)

// Validate reports the first invalid setting, naming its flag (a
// *SettingError).
func (cfg UsersConfig) Validate() error {
	bad := func(setting, format string, args ...any) error {
		return &SettingError{Setting: setting, Problem: fmt.Sprintf(format, args...)}
	}
	switch {
	case cfg.BatchSize < minUsersBatchSize || cfg.BatchSize > maxUsersBatchSize:
		return bad("users.batch-size", "must be between %d and %d, got %d", minUsersBatchSize, maxUsersBatchSize, cfg.BatchSize)
	case cfg.Concurrency < 1:
		return bad("users.concurrency", "must be at least 1, got %d", cfg.Concurrency)
	case cfg.RefreshInterval <= 0:
		return bad("users.refresh-interval", "must be positive, got %s", cfg.RefreshInterval)
	case cfg.WalkConcurrency < 1 || cfg.WalkConcurrency > maxWalkConcurrency:
		return bad("users.walk-concurrency", "must be between 1 and %d, got %d", maxWalkConcurrency, cfg.WalkConcurrency)
	}
	return notNegative("users.max-age", cfg.MaxAge)
}

func init() {
	registerCollector("users", true, func(deps Deps) (Collector, error) {
		return NewUsersCollector(deps, deps.Options.users())
	})
}

// UsersCollector implements the users collector.
type UsersCollector struct {
	cfg   UsersConfig
	ids   *userids.Cache
	sweep *sweep.Sweeper

	startOnce sync.Once
	started   atomic.Bool
}

// NewUsersCollector builds the collector from explicit settings. Background
// work starts with Start.
func NewUsersCollector(deps Deps, cfg UsersConfig) (*UsersCollector, error) {
	return newUsersCollector(deps, cfg, nil)
}

// newUsersCollector is NewUsersCollector with options of the id cache and
// the sweeper (tests and benchmarks).
func newUsersCollector(deps Deps, cfg UsersConfig, idOpts []userids.Option, sweepOpts ...sweep.Option) (*UsersCollector, error) {
	if deps.Client == nil {
		return nil, errors.New("users collector: nil client")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := deps.Logger
	if logger == nil {
		logger = log.NewNopLogger()
	}
	return &UsersCollector{
		cfg: cfg,
		ids: userids.New(deps.Client, logger, userids.Config{
			IncludeBots: cfg.IncludeBots, RefreshInterval: cfg.RefreshInterval,
			WalkConcurrency: cfg.WalkConcurrency, CacheFile: cfg.CacheFile,
		}, idOpts...),
		sweep: sweep.New(deps.Client, logger, sweep.Config{BatchSize: cfg.BatchSize, Concurrency: cfg.Concurrency, MaxAge: cfg.MaxAge}, sweepOpts...),
	}, nil
}

// Start begins building the id cache in the background and refreshing it;
// it returns at once. The loop, and any status sweep in flight, stop when
// ctx is cancelled. Calls after the first do nothing.
func (c *UsersCollector) Start(ctx context.Context) {
	c.startOnce.Do(func() {
		c.sweep.Start(ctx)
		c.started.Store(true)
		c.ids.Start(ctx)
	})
}

// Stopped is closed when the background loop started by Start has returned.
func (c *UsersCollector) Stopped() <-chan struct{} { return c.ids.Stopped() }

// Refresh walks the users once, synchronously, and publishes the new id
// cache. The background loop calls it; tests and benchmarks may too.
func (c *UsersCollector) Refresh(ctx context.Context) error { return c.ids.Refresh(ctx) }

// Every users metric family. The gauges about Mattermost's users:
var (
	usersDesc = newDesc(
		prometheus.BuildFQName(namespace, "", "users"),
		"Active Mattermost users by status (bots only with --collector.users.include-bots), from the statuses of the exporter's cached user ids: new and deactivated users show up at the next id-cache refresh (see mattermost_exporter_users_refresh_timestamp_seconds).",
		[]string{"status"}, nil)
	usersManualDesc = newDesc(
		prometheus.BuildFQName(namespace, "users", "manual"),
		"Of mattermost_users, the users whose status was set by hand (it does not follow their activity).",
		[]string{"status"}, nil)
	usersUnknownDesc = newDesc(
		prometheus.BuildFQName(namespace, "users", "unknown_status"),
		"Active users whose status is none of online, away, dnd, offline, ooo (a value this exporter does not know); they are not in mattermost_users.",
		nil, nil)
	usersSweepTimestampDesc = newDesc(
		prometheus.BuildFQName(namespace, "users", "sweep_timestamp_seconds"),
		"Unix time when the status sweep behind the served mattermost_users counts started (older than the scrape when a sweep was reused or the latest one failed).",
		nil, nil)
)

// The exporter's own: the status sweeps.
var (
	usersSweepDurationDesc = usersSelfDesc("sweep_duration_seconds",
		"Duration of the status sweep behind the served counts, in seconds.")
	usersBatchSizeDesc = usersSelfDesc("batch_size",
		"User ids per POST /users/status/ids request: --collector.users.batch-size, or less after the server answered 413 (request body above ServiceSettings.MaximumPayloadSizeBytes).")
	usersSweepsDesc = usersSelfDesc("sweeps_total",
		"Complete status sweeps (each ceil(cached / batch-size) POST /users/status/ids requests, plus any retries).")
	usersSweepErrorsDesc = usersSelfDesc("sweep_errors_total",
		"Status sweeps that failed or ran out of time; their partial counts were discarded.")
	usersSweepsReusedDesc = usersSelfDesc("sweeps_reused_total",
		"Scrapes answered from a sweep younger than --collector.users.max-age, without requests.")
)

// The exporter's own: the id cache.
var (
	usersCachedDesc = usersSelfDesc("cached",
		"User ids in the exporter's id cache (active users; bots only with --collector.users.include-bots); 0 until the first refresh completes.")
	usersRefreshTimestampDesc = usersSelfDesc("refresh_timestamp_seconds",
		"Unix time when the last user id cache refresh (a walk of GET /users) completed.")
	usersRefreshDurationDesc = usersSelfDesc("refresh_duration_seconds",
		"Duration of the last completed user id cache refresh, in seconds.")
	usersRefreshRequestsDesc = usersSelfDesc("refresh_requests",
		"GET /users page requests made by the user id cache refresh in progress, else by the last one (completed or not); for an incremental refresh, its GET /teams and filtered GET /users pages.")
	usersLastRefreshPagesDesc = usersSelfDesc("last_refresh_pages",
		"Page requests of the last user id cache refresh of each kind, completed or not: full (a walk of GET /users) or incremental (GET /teams, then each team's newest members and the accounts in no team); 0 until one ran.",
		"kind")
	usersStatsDifferenceDesc = usersSelfDesc("stats_difference",
		"Active accounts (bots included) seen by the last completed walk of GET /users minus GET /users/stats total_users_count asked right after it; not 0 when accounts changed during the walk (a quick re-walk follows) or the token's account cannot see every user.")
	usersRefreshesDesc = usersSelfDesc("refreshes_total",
		"Completed user id cache refreshes.")
	usersRefreshErrorsDesc = usersSelfDesc("refresh_errors_total",
		"Failed user id cache refreshes (the previous cache stays in use).")
	usersRefreshEarlyDesc = usersSelfDesc("refresh_early_total",
		"Refreshes brought forward because GET /users/stats reported a new active user count.")
	usersRefreshThrottledDesc = usersSelfDesc("refresh_throttled_total",
		"GET /users pages of the user id walk answered 429 (none retried by the client), each followed by a slower walk.")
	usersIncrementalDesc = usersSelfDesc("incremental_refreshes_total",
		"Incremental user id cache refreshes (new accounts read from GET /teams and the teams' newest members when GET /users/stats went up between walks), by result: applied (the cache then agreed with GET /users/stats), fell_back (not applied: a full walk was brought forward instead).",
		"result")
)

// The exporter's own: the cache file (only with one).
var (
	usersFromFileDesc = usersSelfDesc("cache_from_file",
		"1 while the user id cache in use was loaded from --collector.users.cache-file at start (no walk yet by this process), else 0; only with a cache file.")
	usersCacheFileLoadsDesc = usersSelfDesc("cache_file_loads_total",
		"Reads of --collector.users.cache-file at start, by result: loaded (served at once), absent, unreadable, corrupt, other_format, other_server, other_settings (include-bots differs), user_count_changed (GET /users/stats differs from the file's), server_unavailable (the file could not be checked); anything but loaded means a first walk.",
		"result")
	usersCacheFileWritesDesc = usersSelfDesc("cache_file_writes_total",
		"Writes of --collector.users.cache-file (after each successful walk or applied incremental refresh).")
	usersCacheFileWriteErrorsDesc = usersSelfDesc("cache_file_write_errors_total",
		"Failed writes of --collector.users.cache-file (the previous file, if any, stays).")
)

// usersSelfDesc describes one of the exporter's own users metrics.
func usersSelfDesc(name, help string, labels ...string) *prometheus.Desc {
	return newDesc(prometheus.BuildFQName(exporterNamespace, "users", name), help, labels, nil)
}

// errCacheNotBuilt is returned by scrapes before the first walk completes.
var errCacheNotBuilt = fmt.Errorf("user id cache not built yet (first refresh in progress): %w", ErrNotReady)

// Update implements Collector: it serves counts from a status sweep of the
// cached ids, never waiting for the id cache.
func (c *UsersCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	snap := c.ids.Snapshot()
	if snap == nil {
		c.emitSelf(ch, nil)
		if !c.started.Load() {
			// A wiring mistake, not a wait: the cache will never be
			// built, so this is logged as an error.
			return errors.New("users collector not started (Start was not called): no user id cache")
		}
		if err := c.ids.Err(); err != nil {
			// Wraps both: an authentication or permission failure is
			// reported as such, anything else as "not ready".
			return fmt.Errorf("user id cache not built yet (refresh failed, retrying: %w): %w", err, ErrNotReady)
		}
		return errCacheNotBuilt
	}
	res, err := c.sweep.Counts(ctx, &snap.IDs)
	if res != nil {
		for i, s := range mmclient.KnownStatuses {
			gauge(ch, usersDesc, float64(res.Counts.ByStatus[i]), s)
			gauge(ch, usersManualDesc, float64(res.Counts.Manual[i]), s)
		}
		gauge(ch, usersUnknownDesc, float64(res.Counts.Unknown))
		gauge(ch, usersSweepTimestampDesc, float64(res.Taken.UnixNano())/1e9)
		gauge(ch, usersSweepDurationDesc, res.Duration.Seconds())
	}
	c.emitSelf(ch, snap)
	return err
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

// counter sends a counter that began at since (its created timestamp).
func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v uint64, since time.Time, labels ...string) {
	ch <- prometheus.MustNewConstMetricWithCreatedTimestamp(d, prometheus.CounterValue, float64(v), since, labels...)
}

// emitSelf sends the exporter's own users metrics.
func (c *UsersCollector) emitSelf(ch chan<- prometheus.Metric, snap *userids.Snapshot) {
	cached := 0
	if snap != nil {
		cached = snap.IDs.Len()
		gauge(ch, usersRefreshTimestampDesc, float64(snap.Finished.UnixNano())/1e9)
		gauge(ch, usersRefreshDurationDesc, snap.Duration.Seconds())
	}
	st, sw := c.ids.Stats(), c.sweep.Stats()
	gauge(ch, usersCachedDesc, float64(cached))
	gauge(ch, usersRefreshRequestsDesc, float64(st.Pages))
	gauge(ch, usersLastRefreshPagesDesc, float64(st.LastFullPages), "full")
	gauge(ch, usersLastRefreshPagesDesc, float64(st.LastIncrementalPages), "incremental")
	if st.StatsKnown {
		gauge(ch, usersStatsDifferenceDesc, float64(st.StatsDifference))
	}
	gauge(ch, usersBatchSizeDesc, float64(sw.BatchSize))
	counter(ch, usersRefreshesDesc, st.Refreshes, st.Since)
	counter(ch, usersRefreshErrorsDesc, st.RefreshErrors, st.Since)
	counter(ch, usersRefreshEarlyDesc, st.EarlyRefreshes, st.Since)
	counter(ch, usersRefreshThrottledDesc, st.Throttled, st.Since)
	counter(ch, usersSweepsDesc, sw.Sweeps, sw.Since)
	counter(ch, usersSweepErrorsDesc, sw.Errors, sw.Since)
	counter(ch, usersSweepsReusedDesc, sw.Reused, sw.Since)
	for i, n := range st.Incremental {
		counter(ch, usersIncrementalDesc, n, st.Since, userids.IncrementalResults[i])
	}
	if c.cfg.CacheFile != "" {
		fromFile := 0.0
		if snap != nil && snap.FromFile {
			fromFile = 1
		}
		gauge(ch, usersFromFileDesc, fromFile)
		for i, n := range st.CacheFileLoads {
			counter(ch, usersCacheFileLoadsDesc, n, st.Since, userids.CacheFileResults[i])
		}
		counter(ch, usersCacheFileWritesDesc, st.CacheFileWrites, st.Since)
		counter(ch, usersCacheFileWriteErrorsDesc, st.CacheFileWriteErrors, st.Since)
	}
}
