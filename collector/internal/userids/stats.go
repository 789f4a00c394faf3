package userids

import (
	"sync/atomic"
	"time"
)

// counters are the cache's own counts, read by Stats.
type counters struct {
	since                        time.Time    // when counting began
	pages                        atomic.Int64 // of the refresh in progress, else of the last one
	lastFullPages, lastIncrPages atomic.Int64
	refreshes, refreshErrors     atomic.Uint64
	early, throttled             atomic.Uint64
	incrApplied, incrFellBack    atomic.Uint64
	fileLoads                    [len(CacheFileResults)]atomic.Uint64
	fileWrites, fileWriteErrors  atomic.Uint64
}

// Stats are the cache's figures for the exporter's self-metrics.
type Stats struct {
	// Pages is the page requests of the refresh in progress, else of the
	// last one; LastFullPages and LastIncrementalPages those of the last
	// walk and the last incremental refresh (completed or not).
	Pages, LastFullPages, LastIncrementalPages int64
	// StatsDifference is the last walk's active accounts minus GET
	// /users/stats' total_users_count asked right after it; valid when
	// StatsKnown.
	StatsDifference int64
	StatsKnown      bool
	Refreshes       uint64 // completed walks
	RefreshErrors   uint64 // failed walks
	EarlyRefreshes  uint64 // walks brought forward by a GET /users/stats change
	Throttled       uint64 // pages answered 429
	// Incremental counts incremental refreshes by result, labelled by
	// IncrementalResults. Arrays, not maps: Stats runs on every scrape.
	Incremental [len(IncrementalResults)]uint64
	// CacheFileLoads counts reads of the cache file by result, labelled
	// by CacheFileResults; zero without a cache file.
	CacheFileLoads                        [len(CacheFileResults)]uint64
	CacheFileWrites, CacheFileWriteErrors uint64
	// Since is when the counts began (the counters' created timestamp).
	Since time.Time
}

// Stats returns the cache's figures now.
func (c *Cache) Stats() Stats {
	s := Stats{
		Pages: c.n.pages.Load(), LastFullPages: c.n.lastFullPages.Load(), LastIncrementalPages: c.n.lastIncrPages.Load(),
		Refreshes: c.n.refreshes.Load(), RefreshErrors: c.n.refreshErrors.Load(),
		EarlyRefreshes: c.n.early.Load(), Throttled: c.n.throttled.Load(),
		Incremental: [...]uint64{c.n.incrApplied.Load(), c.n.incrFellBack.Load()}, // as IncrementalResults
		Since:       c.n.since,
	}
	if d := c.statsDiff.Load(); d != nil {
		s.StatsDifference, s.StatsKnown = *d, true
	}
	if c.cfg.CacheFile != "" {
		for i := range s.CacheFileLoads {
			s.CacheFileLoads[i] = c.n.fileLoads[i].Load()
		}
		s.CacheFileWrites, s.CacheFileWriteErrors = c.n.fileWrites.Load(), c.n.fileWriteErrors.Load()
	}
	return s
}
