package userids

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// Config is what the collector's settings say about the id cache.
type Config struct {
	IncludeBots     bool          // keep bot accounts too
	RefreshInterval time.Duration // a full walk at least this often, > 0
	// WalkConcurrency is the number of GET /users pages in flight during
	// a walk (at least 1).
	WalkConcurrency int
	// CacheFile keeps the ids across restarts ("" = off).
	CacheFile string
}

// Cache walks GET /users in the background and publishes the active user
// ids as an immutable Snapshot.
type Cache struct {
	client *mmclient.Client
	logger log.Logger
	cfg    Config
	lim    limits    // loop timing and bounds (defaults, or options)
	clock  walkClock // of the walk's pacing

	startOnce sync.Once
	stopped   chan struct{} // closed when the loop started by Start returns

	walkMu  sync.Mutex // one walk or incremental refresh at a time
	snap    atomic.Pointer[Snapshot]
	lastErr atomic.Pointer[error] // nil after a successful walk
	// incrForbidden: an incremental refresh was refused (403) for this
	// token; it is not tried again.
	incrForbidden atomic.Bool
	statsSeen     atomic.Pointer[int64] // total_users_count after the last walk
	statsDiff     atomic.Pointer[int64] // walk minus stats after the last walk

	n counters // what Stats reports
}

// New returns a cache that walks with client once started. Options are
// for tests and benchmarks.
func New(client *mmclient.Client, logger log.Logger, cfg Config, opts ...Option) *Cache {
	if logger == nil {
		logger = log.NewNopLogger()
	}
	c := &Cache{
		client: client, logger: logger, cfg: cfg,
		lim: defaultLimits(), clock: walkClock{now: time.Now, sleep: sleepCtx},
		stopped: make(chan struct{}),
	}
	c.n.since = time.Now()
	for _, o := range opts {
		o(c)
	}
	return c
}

// Start runs the background loop (loop.go) until ctx ends; it returns at
// once. Calls after the first do nothing.
func (c *Cache) Start(ctx context.Context) {
	c.startOnce.Do(func() { go c.run(ctx) })
}

// Stopped is closed when the loop started by Start has returned.
func (c *Cache) Stopped() <-chan struct{} { return c.stopped }

// Snapshot is the ids in use: nil until the first walk completes (or a
// cache file is loaded).
func (c *Cache) Snapshot() *Snapshot { return c.snap.Load() }

// Err is why the last walk failed, nil after a successful one.
func (c *Cache) Err() error {
	if p := c.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// statsTotal asks GET /users/stats once (no client retries: the loop asks
// again soon anyway).
func (c *Cache) statsTotal(ctx context.Context) (int64, error) {
	sctx, cancel := context.WithTimeout(mmclient.WithoutRetries(ctx), statsTimeout)
	defer cancel()
	st, err := c.client.GetUserStats(sctx)
	if err != nil {
		return 0, err
	}
	return st.TotalUsersCount, nil
}

// Refresh walks the users once, synchronously, and publishes the new
// snapshot, then compares it with GET /users/stats. The loop calls it;
// tests and benchmarks may too.
func (c *Cache) Refresh(ctx context.Context) error {
	c.walkMu.Lock()
	defer c.walkMu.Unlock()
	// The builder is sized from the last walk, or for the first one from
	// GET /users/stats (growing it by doubling would cost up to twice the
	// memory at a million users).
	var hint int64
	if old := c.snap.Load(); old != nil {
		hint = old.ActiveAll
	} else if total, err := c.statsTotal(ctx); err == nil {
		// The server's word: it sizes the builder only up to
		// maxStatsHint accounts; a bigger server's builder grows.
		hint = min(total, maxStatsHint)
	}
	snap, err := c.walk(ctx, hint)
	c.n.lastFullPages.Store(c.n.pages.Load())
	if err != nil {
		c.n.refreshErrors.Add(1)
		if ctx.Err() == nil {
			c.lastErr.Store(&err)
		}
		return err
	}
	c.lastErr.Store(nil)
	c.snap.Store(snap)
	// Counted once the comparison with the stats is done (tests wait on it).
	defer c.n.refreshes.Add(1)
	level.Info(c.logger).Log("msg", "user id cache refreshed", "cached", snap.IDs.Len(), "active_accounts", snap.ActiveAll, "bots", snap.Bots, "pages", snap.Pages, "duplicates_dropped", snap.Duplicates, "duration", snap.Duration)
	total, err := c.statsTotal(ctx)
	if err != nil {
		level.Debug(c.logger).Log("msg", "GET /users/stats failed", "err", err)
		c.statsSeen.Store(nil)
		c.statsDiff.Store(nil)
		c.saveFile(ctx, snap, -1)
		return nil
	}
	c.recordStats(snap, total)
	if snap.ActiveAll != total {
		level.Info(c.logger).Log("msg", "user id walk and GET /users/stats disagree (accounts changed during the walk, or the token's account cannot see every user); walking again soon", "walk_active", snap.ActiveAll, "stats_total", total)
	}
	c.saveFile(ctx, snap, total)
	return nil
}

// restore publishes the cache file's snapshot when there is one that
// passes every check, and returns it (nil: none).
func (c *Cache) restore(ctx context.Context) *Snapshot {
	snap, total := c.loadFile(ctx)
	if snap == nil {
		return nil
	}
	c.recordStats(snap, total)
	c.snap.Store(snap)
	return snap
}

// recordStats keeps GET /users/stats' total_users_count, asked when snap
// was made, and snap's difference from it.
func (c *Cache) recordStats(snap *Snapshot, total int64) {
	diff := snap.ActiveAll - total
	c.statsSeen.Store(&total)
	c.statsDiff.Store(&diff)
}
