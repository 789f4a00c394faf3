package userids

import (
	"context"
	"time"
)

// limits are the loop's timing and the walk's bounds. Production uses
// defaultLimits; tests shorten or lower them with options.
type limits struct {
	retryMin   time.Duration // first retry of a failed walk
	probeEvery time.Duration // GET /users/stats probe while a walk fails
	rewalkMin  time.Duration // first re-walk after a stats disagreement
	// statsEvery: GET /users/stats between walks (<= 0: not asked);
	// minEarlyGap: least time from a walk's end to a walk brought
	// forward (<= 0: none).
	statsEvery, minEarlyGap time.Duration
	earlyWalks              int // earlyRefreshDurations
	// maxWalkPages bounds a walk (maxCachedIDs accounts);
	// maxTeamPages bounds the GET /teams pages of an incremental refresh.
	maxWalkPages, maxTeamPages int
}

func defaultLimits() limits {
	return limits{
		retryMin: 10 * time.Second, probeEvery: 10 * time.Second, rewalkMin: time.Minute,
		statsEvery: time.Minute, minEarlyGap: time.Minute,
		earlyWalks: earlyRefreshDurations, maxWalkPages: maxCachedIDs / walkPerPage, maxTeamPages: incrMaxTeamPages,
	}
}

// walkClock is the time of the walk's pacing: when a page may go, and the
// wait for it.
type walkClock struct {
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

// Option changes a Cache at construction (tests and benchmarks).
type Option func(*Cache)

// WithRetry sets the first retry of a failed walk (default 10 s), the
// GET /users/stats probe interval meanwhile (10 s) and the first re-walk
// after a walk that disagreed with GET /users/stats (1 min).
func WithRetry(retryMin, probeEvery, rewalkMin time.Duration) Option {
	return func(c *Cache) { c.lim.retryMin, c.lim.probeEvery, c.lim.rewalkMin = retryMin, probeEvery, rewalkMin }
}

// WithStatsInterval sets how often GET /users/stats is asked between
// walks (default 1 min; 0 or less: not asked).
func WithStatsInterval(d time.Duration) Option { return func(c *Cache) { c.lim.statsEvery = d } }

// WithMinEarlyGap sets the least time between a walk's end and a walk
// brought forward by a GET /users/stats change (default 1 min; 0 or less:
// none).
func WithMinEarlyGap(d time.Duration) Option { return func(c *Cache) { c.lim.minEarlyGap = d } }

// WithEarlyWalks sets how many walk durations after a walk's start a walk
// brought forward may start (default 10).
func WithEarlyWalks(n int) Option { return func(c *Cache) { c.lim.earlyWalks = n } }

// WithMaxWalkPages bounds a walk in pages of 200 accounts (default
// 250,000: 50,000,000 accounts).
func WithMaxWalkPages(n int) Option { return func(c *Cache) { c.lim.maxWalkPages = n } }

// WithMaxTeamPages bounds the GET /teams pages of an incremental refresh
// (default 50).
func WithMaxTeamPages(n int) Option { return func(c *Cache) { c.lim.maxTeamPages = n } }

// WithWalkClock replaces the clock of the walk's pacing: now, and sleep,
// which must return ctx's error when ctx ends.
func WithWalkClock(now func() time.Time, sleep func(context.Context, time.Duration) error) Option {
	return func(c *Cache) { c.clock = walkClock{now: now, sleep: sleep} }
}

// WithSnapshot publishes snap at construction, as if walked.
func WithSnapshot(snap *Snapshot) Option { return func(c *Cache) { c.snap.Store(snap) } }
