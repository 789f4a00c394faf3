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
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// The users collector counts active Mattermost users by status.
//
// Each scrape sweeps the statuses of every cached user id (users_sweep.go);
// the list of ids comes from a cache built and refreshed in the background
// (users_refresh.go), never on the scrape path. Until the first walk has
// completed the collector reports success 0 and no counts.

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
		fmt.Sprintf("User ids per POST /users/status/ids request (%d to %d).", minUsersBatchSize, maxUsersBatchSize)).Default("1000").Int()
	usersConcurrency = kingpin.Flag("collector.users.concurrency",
		"Status requests in flight at once during a sweep.").Default("4").Int()
	usersRefreshInterval = kingpin.Flag("collector.users.refresh-interval",
		"How often the user id cache is rebuilt by walking GET /users in the background (a change of GET /users/stats brings it forward).").Default("15m").Duration()
	usersMaxAge = kingpin.Flag("collector.users.max-age",
		"Serve a status sweep younger than this instead of starting a new one (for HA Prometheus pairs); 0 = every scrape sweeps (concurrent scrapes always share one sweep).").Default("0s").Duration()
)

// UsersConfig configures the users collector; the flags map onto it.
type UsersConfig struct {
	IncludeBots     bool          // count bots too
	BatchSize       int           // ids per status request, 1..10000
	Concurrency     int           // status requests in flight, >= 1
	RefreshInterval time.Duration // id cache refresh period, > 0
	MaxAge          time.Duration // reuse a sweep younger than this; 0 = never
	// StatsInterval is how often GET /users/stats is checked between
	// refreshes (default 1 min; negative disables the check).
	StatsInterval time.Duration
	// MinEarlyGap is the least time between a refresh's end and a refresh
	// brought forward by a stats change (default 1 min; negative = none).
	MinEarlyGap time.Duration
}

// DefaultUsersConfig returns the flags' defaults.
func DefaultUsersConfig() UsersConfig {
	return UsersConfig{
		BatchSize:       1000,
		Concurrency:     4,
		RefreshInterval: 15 * time.Minute,
		StatsInterval:   time.Minute,
		MinEarlyGap:     minEarlyGap,
	}
}

// Validate reports the first invalid setting, naming its flag.
func (cfg UsersConfig) Validate() error {
	if cfg.BatchSize < minUsersBatchSize || cfg.BatchSize > maxUsersBatchSize {
		return fmt.Errorf("--collector.users.batch-size must be between %d and %d, got %d", minUsersBatchSize, maxUsersBatchSize, cfg.BatchSize)
	}
	if cfg.Concurrency < 1 {
		return fmt.Errorf("--collector.users.concurrency must be at least 1, got %d", cfg.Concurrency)
	}
	if cfg.RefreshInterval <= 0 {
		return fmt.Errorf("--collector.users.refresh-interval must be positive, got %s", cfg.RefreshInterval)
	}
	if cfg.MaxAge < 0 {
		return fmt.Errorf("--collector.users.max-age must not be negative, got %s", cfg.MaxAge)
	}
	return nil
}

func init() {
	registerCollector("users", true, func(deps Deps) (Collector, error) {
		cfg := DefaultUsersConfig()
		cfg.IncludeBots = *usersIncludeBots
		cfg.BatchSize = *usersBatchSize
		cfg.Concurrency = *usersConcurrency
		cfg.RefreshInterval = *usersRefreshInterval
		cfg.MaxAge = *usersMaxAge
		override(&cfg.IncludeBots, deps.Options.UsersIncludeBots)
		override(&cfg.RefreshInterval, deps.Options.UsersRefreshInterval)
		return NewUsersCollector(deps, cfg)
	})
}

// errCacheNotBuilt is returned by scrapes before the first walk completes.
var errCacheNotBuilt = fmt.Errorf("user id cache not built yet (first refresh in progress): %w", ErrNotReady)

// UsersCollector implements the users collector.
type UsersCollector struct {
	client *mmclient.Client
	logger log.Logger
	cfg    UsersConfig
	sleep  func(context.Context, time.Duration) error

	startOnce sync.Once
	started   atomic.Bool
	stopped   chan struct{}
	refreshMu sync.Mutex // one walk at a time

	cache atomic.Pointer[idSnapshot]

	mu sync.Mutex
	// life is the context given to Start (Background before): sweeps run
	// on contexts derived from it, detached from the scrape that started
	// them but stopped with the collector.
	life          context.Context
	inflight      *sweepCall
	lastSweep     *sweepResult
	sweepConc     int // concurrency after a rate-limited sweep; 0 = configured
	statsBaseline int64
	statsKnown    bool

	lastRefreshErr atomic.Pointer[error] // nil after a successful refresh
	refreshes      atomic.Int64
	refreshErrors  atomic.Int64
	statsTriggered atomic.Int64
	lastWalkPages  atomic.Int64
	walkThrottles  atomic.Int64
	sweeps         atomic.Int64
	sweepErrors    atomic.Int64
	sweepsReused   atomic.Int64

	unknownLogged atomic.Int64 // unix seconds of the last unknown-status log
}

// NewUsersCollector builds the collector from explicit settings. Background
// work starts with Start.
func NewUsersCollector(deps Deps, cfg UsersConfig) (*UsersCollector, error) {
	if deps.Client == nil {
		return nil, errors.New("users collector: nil client")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.StatsInterval == 0 {
		cfg.StatsInterval = time.Minute
	}
	if cfg.MinEarlyGap == 0 {
		cfg.MinEarlyGap = minEarlyGap
	} else if cfg.MinEarlyGap < 0 {
		cfg.MinEarlyGap = 0
	}
	logger := deps.Logger
	if logger == nil {
		logger = log.NewNopLogger()
	}
	return &UsersCollector{
		client:  deps.Client,
		logger:  logger,
		cfg:     cfg,
		sleep:   sleepCtx,
		stopped: make(chan struct{}),
		life:    context.Background(),
	}, nil
}

// Start begins building the id cache in the background and refreshing it;
// it returns at once. The loop, and any status sweep in flight, stop when
// ctx is cancelled. Calls after the first do nothing.
func (c *UsersCollector) Start(ctx context.Context) {
	c.startOnce.Do(func() {
		c.mu.Lock()
		c.life = ctx
		c.mu.Unlock()
		c.started.Store(true)
		go c.run(ctx)
	})
}

// Stopped is closed when the background loop started by Start has returned.
func (c *UsersCollector) Stopped() <-chan struct{} { return c.stopped }

// Metric descriptions.
var (
	usersDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "", "users"),
		"Active Mattermost users by status (bots only with --collector.users.include-bots), from the statuses of the exporter's cached user ids: new and deactivated users show up at the next id-cache refresh (see mattermost_exporter_users_refresh_timestamp_seconds).",
		[]string{"status"}, nil)
	usersManualDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "users", "manual"),
		"Of mattermost_users, the users whose status was set by hand (it does not follow their activity).",
		[]string{"status"}, nil)
	usersUnknownDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "users", "unknown_status"),
		"Active users whose status is none of online, away, dnd, offline, ooo (a value this exporter does not know); they are not in mattermost_users.",
		nil, nil)
	usersSweepTimestampDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "users", "sweep_timestamp_seconds"),
		"Unix time when the status sweep behind the served mattermost_users counts started (older than the scrape when a sweep was reused or the latest one failed).",
		nil, nil)
	usersSweepDurationDesc = prometheus.NewDesc(
		prometheus.BuildFQName(exporterNamespace, "users", "sweep_duration_seconds"),
		"Duration of the status sweep behind the served counts, in seconds.",
		nil, nil)
	usersSweepsDesc = prometheus.NewDesc(
		prometheus.BuildFQName(exporterNamespace, "users", "sweeps_total"),
		"Complete status sweeps (each ceil(cached / batch-size) POST /users/status/ids requests, plus any retries).",
		nil, nil)
	usersSweepErrorsDesc = prometheus.NewDesc(
		prometheus.BuildFQName(exporterNamespace, "users", "sweep_errors_total"),
		"Status sweeps that failed or ran out of time; their partial counts were discarded.",
		nil, nil)
	usersSweepsReusedDesc = prometheus.NewDesc(
		prometheus.BuildFQName(exporterNamespace, "users", "sweeps_reused_total"),
		"Scrapes answered from a sweep younger than --collector.users.max-age, without requests.",
		nil, nil)
	usersCachedDesc = prometheus.NewDesc(
		prometheus.BuildFQName(exporterNamespace, "users", "cached"),
		"User ids in the exporter's id cache (active users; bots only with --collector.users.include-bots); 0 until the first refresh completes.",
		nil, nil)
	usersRefreshTimestampDesc = prometheus.NewDesc(
		prometheus.BuildFQName(exporterNamespace, "users", "refresh_timestamp_seconds"),
		"Unix time when the last user id cache refresh (a walk of GET /users) completed.",
		nil, nil)
	usersRefreshDurationDesc = prometheus.NewDesc(
		prometheus.BuildFQName(exporterNamespace, "users", "refresh_duration_seconds"),
		"Duration of the last completed user id cache refresh, in seconds.",
		nil, nil)
	usersRefreshRequestsDesc = prometheus.NewDesc(
		prometheus.BuildFQName(exporterNamespace, "users", "refresh_requests"),
		"GET /users page requests made by the user id cache refresh in progress, else by the last one (completed or not).",
		nil, nil)
	usersRefreshesDesc = prometheus.NewDesc(
		prometheus.BuildFQName(exporterNamespace, "users", "refreshes_total"),
		"Completed user id cache refreshes.",
		nil, nil)
	usersRefreshErrorsDesc = prometheus.NewDesc(
		prometheus.BuildFQName(exporterNamespace, "users", "refresh_errors_total"),
		"Failed user id cache refreshes (the previous cache stays in use).",
		nil, nil)
	usersRefreshEarlyDesc = prometheus.NewDesc(
		prometheus.BuildFQName(exporterNamespace, "users", "refresh_early_total"),
		"Refreshes brought forward because GET /users/stats reported a new active user count.",
		nil, nil)
	usersRefreshThrottledDesc = prometheus.NewDesc(
		prometheus.BuildFQName(exporterNamespace, "users", "refresh_throttled_total"),
		"GET /users pages of the user id walk answered 429 (none retried by the client), each followed by a slower walk.",
		nil, nil)
)

// Update implements Collector: it serves counts from a status sweep of the
// cached ids, never waiting for the id cache.
func (c *UsersCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	snap := c.cache.Load()
	if snap == nil {
		c.emitSelf(ch, snap)
		if !c.started.Load() {
			// A wiring mistake, not a wait: the cache will never be
			// built, so this is logged as an error.
			return errors.New("users collector not started (Start was not called): no user id cache")
		}
		if p := c.lastRefreshErr.Load(); p != nil {
			// Wraps both: an authentication or permission failure is
			// reported as such, anything else as "not ready".
			return fmt.Errorf("user id cache not built yet (refresh failed, retrying: %w): %w", *p, ErrNotReady)
		}
		return errCacheNotBuilt
	}
	res, err := c.getCounts(ctx, snap)
	if res != nil {
		c.emitCounts(ch, res)
	}
	c.emitSelf(ch, snap)
	return err
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
}

func (c *UsersCollector) emitSelf(ch chan<- prometheus.Metric, snap *idSnapshot) {
	cached := 0
	if snap != nil {
		cached = snap.ids.Len()
		gauge(ch, usersRefreshTimestampDesc, float64(snap.finished.UnixNano())/1e9)
		gauge(ch, usersRefreshDurationDesc, snap.duration.Seconds())
	}
	gauge(ch, usersCachedDesc, float64(cached))
	gauge(ch, usersRefreshRequestsDesc, float64(c.lastWalkPages.Load()))
	counter(ch, usersRefreshesDesc, float64(c.refreshes.Load()))
	counter(ch, usersRefreshErrorsDesc, float64(c.refreshErrors.Load()))
	counter(ch, usersRefreshEarlyDesc, float64(c.statsTriggered.Load()))
	counter(ch, usersRefreshThrottledDesc, float64(c.walkThrottles.Load()))
	counter(ch, usersSweepsDesc, float64(c.sweeps.Load()))
	counter(ch, usersSweepErrorsDesc, float64(c.sweepErrors.Load()))
	counter(ch, usersSweepsReusedDesc, float64(c.sweepsReused.Load()))
}

func (c *UsersCollector) emitCounts(ch chan<- prometheus.Metric, res *sweepResult) {
	for i, s := range mmclient.KnownStatuses {
		gauge(ch, usersDesc, float64(res.counts.byStatus[i]), s)
		gauge(ch, usersManualDesc, float64(res.counts.manual[i]), s)
	}
	gauge(ch, usersUnknownDesc, float64(res.counts.unknown))
	gauge(ch, usersSweepTimestampDesc, float64(res.taken.UnixNano())/1e9)
	gauge(ch, usersSweepDurationDesc, res.duration.Seconds())
}

// logUnknown warns about unknown status values at most once an hour.
func (c *UsersCollector) logUnknown(res *sweepResult) {
	now := time.Now().Unix()
	last := c.unknownLogged.Load()
	if now-last < 3600 || !c.unknownLogged.CompareAndSwap(last, now) {
		return
	}
	level.Warn(c.logger).Log("msg", "users with an unknown status value; counted in mattermost_users_unknown_status", "count", res.counts.unknown, "example", res.firstUnknown)
}
