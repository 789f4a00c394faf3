package collector

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// idCache builds the list of user ids off the scrape path (run):
//
//   - A walk pages through GET /users?page=N&per_page=200 (the server's
//     maximum) until a short page, keeping active accounts (delete_at 0) and,
//     with --collector.users.include-bots, bots. The result replaces the
//     snapshot only when the walk completes; a failed walk keeps the old one.
//   - Walks run every --collector.users.refresh-interval. Between walks
//     GET /users/stats is asked every StatsInterval (1 min); a change of
//     total_users_count since the last walk brings the next walk forward, but
//     not closer than MinEarlyGap (1 min) to the previous walk's end nor than
//     10 walk durations to its start, so that constant sign-ups do not keep
//     the exporter walking.
//   - A total that went up is first met with an incremental refresh
//     (users_incremental.go): the accounts created since the walk are read
//     from the teams' newest members and the accounts in no team, and
//     merged in if GET /users/stats then agrees; the walk keeps its time.
//     Otherwise (or when the total went down) the walk is brought forward
//     as above.
//   - After a walk, GET /users/stats is compared with the walk's active
//     accounts (bots included, like total_users_count). A difference (accounts
//     changed during the walk: OFFSET paging by username skips an account
//     renamed across a page boundary) is exported as
//     mattermost_exporter_users_stats_difference and the walk is made again
//     after rewalkMin, doubling while the difference stays, at most the
//     refresh interval.
//   - A failed walk is retried after retryMin (10 s), doubling up to the
//     refresh interval; meanwhile GET /users/stats is asked every probeEvery
//     (10 s) and, when the walk failed for want of an answer or a probe
//     failed, the walk starts as soon as a probe answers: the cache is
//     rebuilt promptly when Mattermost comes back, however long it was away.
//   - Pacing: Mattermost's limiter allows 10 requests/s, burst 100, per
//     client address, shared with the status sweeps. Pages are asked with
//     mmclient.WithoutRetries, so the walk sees every 429: it waits
//     Retry-After (1 s to walkMaxWait), then paces pages with a rate.Limiter
//     at 5/s, halved by each further 429 down to one page per walkMaxWait/6,
//     and doubled after every walkDecayPages clean pages until above 50/s,
//     where it is back to full speed. After walkMaxThrottles 429s in a row
//     the walk fails.

const (
	walkPerPage      = mmclient.MaxPerPage
	walkThrottleRate = rate.Limit(5)
	walkMinRate      = rate.Limit(0.2)
	walkFullRate     = rate.Limit(50)
	walkDecayPages   = 3
	walkMaxThrottles = 20
	walkMinWait      = time.Second
	// walkMaxWait caps a Retry-After: a far-future HTTP date must not
	// stall the walk.
	walkMaxWait = 30 * time.Second
	// walkPageTimeout bounds one page request (the walk itself has no
	// deadline: at 1M users it can legitimately take tens of minutes).
	walkPageTimeout = 2 * time.Minute
	statsTimeout    = 30 * time.Second
	// maxStatsHint bounds how many accounts GET /users/stats may make the
	// first walk's builder reserve room for (27 bytes each: 57 MB).
	maxStatsHint = 1 << 21
	// earlyRefreshDurations: a stats-triggered walk starts no sooner than
	// this many walk durations after the previous walk started.
	earlyRefreshDurations = 10
)

// idCache is the background walker and the snapshot it publishes.
type idCache struct {
	client *mmclient.Client
	logger log.Logger
	cfg    UsersConfig

	// Timing of the loop; tests shorten them.
	retryMin, probeEvery, rewalkMin time.Duration
	earlyWalks                      int // earlyRefreshDurations
	// Bounds of the walk (maxCachedIDs accounts) and of the incremental
	// refresh, in pages; tests lower them.
	maxWalkPages, incrMaxTeamPages, incrMaxPagesPerTeam, incrMaxNoTeamPages int
	// Clock of the walk's pacing; tests replace both.
	now   func() time.Time
	sleep func(context.Context, time.Duration) error

	walkMu  sync.Mutex // one walk at a time
	snap    atomic.Pointer[idSnapshot]
	lastErr atomic.Pointer[error] // nil after a successful walk
	pages   atomic.Int64          // pages of the refresh in progress, else of the last one
	// Pages of the last full walk and of the last incremental refresh
	// (completed or not).
	lastFullPages, lastIncrPages atomic.Int64
	// incrForbidden: an incremental refresh was refused (403) for this
	// token; it is not tried again.
	incrForbidden atomic.Bool
	statsSeen     atomic.Pointer[int64] // total_users_count after the last walk
	statsDiff     atomic.Pointer[int64] // walk minus stats after the last walk
	stopped       chan struct{}

	// cacheFile is --collector.users.cache-file ("" = none, or not ours
	// to use: another server's collector holds the path).
	cacheFile                     string
	cacheLoads                    *prometheus.CounterVec
	cacheWrites, cacheWriteErrors prometheus.Counter

	refreshes, refreshErrors, early, throttled prometheus.Counter
	incrementals                               *prometheus.CounterVec
}

func newIDCache(client *mmclient.Client, logger log.Logger, cfg UsersConfig) *idCache {
	if cfg.StatsInterval == 0 {
		cfg.StatsInterval = time.Minute
	}
	if cfg.MinEarlyGap == 0 {
		cfg.MinEarlyGap = time.Minute
	}
	ic := &idCache{
		client: client, logger: logger, cfg: cfg,
		retryMin: 10 * time.Second, probeEvery: 10 * time.Second, rewalkMin: time.Minute, earlyWalks: earlyRefreshDurations,
		maxWalkPages: maxCachedIDs / walkPerPage, incrMaxTeamPages: incrMaxTeamPages, incrMaxPagesPerTeam: incrMaxPagesPerTeam, incrMaxNoTeamPages: incrMaxNoTeamPages,
		now: time.Now, sleep: sleepCtx,
		stopped:       make(chan struct{}),
		refreshes:     newUsersCounter("refreshes_total", "Completed user id cache refreshes."),
		refreshErrors: newUsersCounter("refresh_errors_total", "Failed user id cache refreshes (the previous cache stays in use)."),
		early:         newUsersCounter("refresh_early_total", "Refreshes brought forward because GET /users/stats reported a new active user count."),
		throttled:     newUsersCounter("refresh_throttled_total", "GET /users pages of the user id walk answered 429 (none retried by the client), each followed by a slower walk."),
		cacheFile:     cfg.CacheFile,
		cacheLoads: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: exporterNamespace, Subsystem: "users", Name: "cache_file_loads_total",
			Help: "Reads of --collector.users.cache-file at start, by result: loaded (served at once), absent, unreadable, corrupt, other_format, other_server, other_settings (include-bots differs), user_count_changed (GET /users/stats differs from the file's), server_unavailable (the file could not be checked); anything but loaded means a first walk."},
			[]string{"result"}),
		cacheWrites:      newUsersCounter("cache_file_writes_total", "Writes of --collector.users.cache-file (after each successful walk or applied incremental refresh)."),
		cacheWriteErrors: newUsersCounter("cache_file_write_errors_total", "Failed writes of --collector.users.cache-file (the previous file, if any, stays)."),
		incrementals: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: exporterNamespace, Subsystem: "users", Name: "incremental_refreshes_total",
			Help: "Incremental user id cache refreshes (new accounts read from GET /teams and the teams' newest members when GET /users/stats went up between walks), by result: applied (the cache then agreed with GET /users/stats), fell_back (not applied: a full walk was brought forward instead)."},
			[]string{"result"}),
	}
	for _, r := range incrResults {
		ic.incrementals.WithLabelValues(r)
	}
	if cfg.CacheFile != "" {
		for _, r := range cacheFileResults {
			ic.cacheLoads.WithLabelValues(r)
		}
	}
	return ic
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pacer slows the walk down after 429s and speeds it up again.
type pacer struct {
	lim   *rate.Limiter
	clean int
	now   func() time.Time
}

// wait is how long to wait before the next page.
func (p *pacer) wait() time.Duration {
	now := p.now()
	return p.lim.ReserveN(now, 1).DelayFrom(now)
}

// throttled slows down after a 429.
func (p *pacer) throttled() {
	p.clean = 0
	l := p.lim.Limit()
	if l > walkThrottleRate {
		l = walkThrottleRate
	} else {
		l = max(l/2, walkMinRate)
	}
	p.lim.SetLimitAt(p.now(), l)
}

// ok speeds up after walkDecayPages pages in a row without a 429.
func (p *pacer) ok() {
	if p.lim.Limit() == rate.Inf {
		return
	}
	if p.clean++; p.clean < walkDecayPages {
		return
	}
	p.clean = 0
	l := 2 * p.lim.Limit()
	if l > walkFullRate {
		l = rate.Inf
	}
	p.lim.SetLimitAt(p.now(), l)
}

// walk pages through every account once and returns the new snapshot.
// WalkConcurrency workers take the next page number in turn; the walk ends
// when every page before the first short one has been read (pages handed
// out past it are discarded). All workers share one pacer, so a 429 slows
// the whole walk down.
func (ic *idCache) walk(ctx context.Context, hint int64) (*idSnapshot, error) {
	begin := time.Now()
	w := ic.newWalk(int(min(hint+hint/50+walkPerPage, maxCachedIDs)), 0)
	g, gctx := errgroup.WithContext(ctx)
	for range max(ic.cfg.WalkConcurrency, 1) {
		g.Go(func() error { return w.work(gctx) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	snap := w.b.build(ic.cfg.IncludeBots)
	if snap.invalid > 0 {
		level.Warn(ic.logger).Log("msg", "user id walk skipped ids that are not Mattermost user ids (26 characters a-z0-9)", "count", snap.invalid)
	}
	snap.finished, snap.duration, snap.pages, snap.newestCreateAt = time.Now(), time.Since(begin), int(ic.pages.Load()), w.newest
	return snap, nil
}

// newWalk starts counting the pages of a walk or an incremental refresh
// and returns its state: a builder sized for about hint accounts, full
// speed, and newest as the newest create_at seen so far.
func (ic *idCache) newWalk(hint int, newest int64) *walkState {
	ic.pages.Store(0)
	return &walkState{ic: ic, b: newIDBuilder(hint), p: &pacer{lim: rate.NewLimiter(rate.Inf, 1), now: ic.now}, end: -1, newest: newest}
}

// walkState is one walk shared by its workers; mu guards all of it.
type walkState struct {
	ic        *idCache
	mu        sync.Mutex
	b         *idBuilder
	p         *pacer
	next      int      // next page to hand out
	end       int      // the first short page seen, -1 until then
	firsts    []string // first account id of each page read ("" = not read or empty)
	throttles int      // 429s in a row
	slowdowns int      // times the pacer was slowed down
	newest    int64    // the newest create_at seen (any account)
}

// work reads pages until there is none left or the walk failed.
func (w *walkState) work(ctx context.Context) error {
	for {
		w.mu.Lock()
		if w.end >= 0 && w.next > w.end {
			w.mu.Unlock()
			return nil
		}
		page := w.next
		w.next++
		w.mu.Unlock()
		users, err := w.fetch(ctx, page)
		if err != nil {
			return err
		}
		if err := w.add(page, users); err != nil {
			return err
		}
	}
}

// add records one page.
func (w *walkState) add(page int, users []mmclient.User) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.end >= 0 && page > w.end {
		return nil // past the end (accounts created since are in the next walk)
	}
	if len(users) < walkPerPage {
		w.end = page
	} else if page+1 >= w.ic.maxWalkPages {
		// A server listing accounts without end must not make the
		// builder grow without bound.
		return fmt.Errorf("user id walk: more than %d accounts (page %d is full): refusing to cache more", w.ic.maxWalkPages*walkPerPage, page)
	}
	for len(w.firsts) <= page {
		w.firsts = append(w.firsts, "")
	}
	if len(users) > 0 {
		// A server (or proxy) that ignores the page parameter would make
		// the walk endless: two pages in a row starting with the same
		// account mean the paging does not advance.
		first := truncate(users[0].ID, mmclient.UserIDLen)
		w.firsts[page] = first
		lo := -1
		switch {
		case page > 0 && w.firsts[page-1] == first:
			lo = page - 1
		case page+1 < len(w.firsts) && w.firsts[page+1] == first:
			lo = page
		}
		if lo >= 0 {
			return fmt.Errorf("user id walk: pages %d and %d start with the same account: the server does not page GET /users", lo, lo+1)
		}
	}
	for i := range users {
		w.newest = max(w.newest, users[i].CreateAt)
		if users[i].DeleteAt == 0 {
			w.b.add(users[i].ID, users[i].IsBot)
		}
	}
	return nil
}

// fetch asks for one page of the walk.
func (w *walkState) fetch(ctx context.Context, page int) ([]mmclient.User, error) {
	return fetchPaced(ctx, w, fmt.Sprintf("page %d", page), func(ctx context.Context) ([]mmclient.User, error) {
		return w.ic.client.GetUsers(ctx, page, walkPerPage)
	})
}

// fetchPaced asks for one page (what names it in errors and logs) with
// get, paced by w's pacer, waiting and asking again after a 429. The walk
// and the incremental refresh (users_incremental.go) page through it.
func fetchPaced[T any](ctx context.Context, w *walkState, what string, get func(context.Context) ([]T, error)) ([]T, error) {
	ic := w.ic
	for {
		w.mu.Lock()
		d := w.p.wait()
		gen := w.slowdowns
		w.mu.Unlock()
		if err := ic.sleep(ctx, d); err != nil {
			return nil, fmt.Errorf("user id walk interrupted at %s: %w", what, err)
		}
		pctx, cancel := context.WithTimeout(ctx, walkPageTimeout)
		// No client retries: the walk sees every 429 and paces itself.
		items, err := get(mmclient.WithoutRetries(pctx))
		cancel()
		ic.pages.Add(1) // live, so a slow walk shows progress
		if apiErr, ok := errors.AsType[*mmclient.APIError](err); ok && mmclient.IsTooManyRequests(apiErr) && ctx.Err() == nil {
			ic.throttled.Inc()
			w.mu.Lock()
			w.throttles++
			throttles := w.throttles
			// The pages in flight when the pace was last lowered were
			// asked at the old pace: their 429s do not lower it again.
			if gen == w.slowdowns {
				w.p.throttled()
				w.slowdowns++
			}
			limit := w.p.lim.Limit()
			w.mu.Unlock()
			if throttles > walkMaxThrottles {
				return nil, fmt.Errorf("user id walk: %s rate limited %d times in a row: %w", what, throttles, err)
			}
			wait := min(max(apiErr.RetryAfter, walkMinWait), walkMaxWait)
			level.Info(ic.logger).Log("msg", "user id walk rate limited by Mattermost; slowing down", "page", what, "retry_after", wait, "pages_per_second", float64(limit))
			if err := ic.sleep(ctx, wait); err != nil {
				return nil, fmt.Errorf("user id walk interrupted at %s: %w", what, err)
			}
			continue // same page again
		}
		if err != nil {
			return nil, fmt.Errorf("user id walk: %s: %w", what, err)
		}
		w.mu.Lock()
		w.throttles = 0
		w.p.ok()
		w.mu.Unlock()
		return items, nil
	}
}

// statsTotal asks GET /users/stats once (no client retries: the loop asks
// again soon anyway).
func (ic *idCache) statsTotal(ctx context.Context) (int64, error) {
	sctx, cancel := context.WithTimeout(mmclient.WithoutRetries(ctx), statsTimeout)
	defer cancel()
	st, err := ic.client.GetUserStats(sctx)
	if err != nil {
		return 0, err
	}
	return st.TotalUsersCount, nil
}

// Refresh walks the users once and publishes the new snapshot, then compares
// it with GET /users/stats.
func (ic *idCache) Refresh(ctx context.Context) error {
	ic.walkMu.Lock()
	defer ic.walkMu.Unlock()
	// The builder is sized from the last walk, or for the first one from
	// GET /users/stats (growing it by doubling would cost up to twice the
	// memory at a million users).
	var hint int64
	if old := ic.snap.Load(); old != nil {
		hint = old.activeAll
	} else if total, err := ic.statsTotal(ctx); err == nil {
		// The server's word: it sizes the builder only up to
		// maxStatsHint accounts; a bigger server's builder grows.
		hint = min(total, maxStatsHint)
	}
	snap, err := ic.walk(ctx, hint)
	ic.lastFullPages.Store(ic.pages.Load())
	if err != nil {
		ic.refreshErrors.Inc()
		if ctx.Err() == nil {
			ic.lastErr.Store(&err)
		}
		return err
	}
	ic.lastErr.Store(nil)
	ic.snap.Store(snap)
	// Counted once the comparison with the stats is done (tests wait on it).
	defer ic.refreshes.Inc()
	level.Info(ic.logger).Log("msg", "user id cache refreshed", "cached", snap.ids.Len(), "active_accounts", snap.activeAll, "bots", snap.bots, "pages", snap.pages, "duplicates_dropped", snap.duplicates, "duration", snap.duration)
	total, err := ic.statsTotal(ctx)
	if err != nil {
		level.Debug(ic.logger).Log("msg", "GET /users/stats failed", "err", err)
		ic.statsSeen.Store(nil)
		ic.statsDiff.Store(nil)
		ic.saveCacheFile(ctx, snap, -1)
		return nil
	}
	ic.recordStats(snap, total)
	if snap.activeAll != total {
		level.Info(ic.logger).Log("msg", "user id walk and GET /users/stats disagree (accounts changed during the walk, or the token's account cannot see every user); walking again soon", "walk_active", snap.activeAll, "stats_total", total)
	}
	ic.saveCacheFile(ctx, snap, total)
	return nil
}

// restore publishes the cache file's snapshot when there is one that
// passes every check, and returns it (nil: none).
func (ic *idCache) restore(ctx context.Context) *idSnapshot {
	snap, total := ic.loadCacheFile(ctx)
	if snap == nil {
		return nil
	}
	ic.recordStats(snap, total)
	ic.snap.Store(snap)
	return snap
}

// recordStats keeps GET /users/stats' total_users_count, asked when snap
// was made, and snap's difference from it.
func (ic *idCache) recordStats(snap *idSnapshot, total int64) {
	diff := snap.activeAll - total
	ic.statsSeen.Store(&total)
	ic.statsDiff.Store(&diff)
}

// walkPlan is when the next full walk is due and how wait waits for it.
type walkPlan struct {
	next     time.Time // the walk is due then at the latest
	earliest time.Time // a GET /users/stats change brings it forward, not before this
	// probe: the last walk failed; GET /users/stats is asked every
	// probeEvery and, while down (the walk failed for want of an answer,
	// or a probe failed), the first probe that answers starts the walk.
	probe, down bool
	// changed: GET /users/stats changed since the walk; it is due at
	// earliest.
	changed bool
}

// waitEnd is why wait returned.
type waitEnd int

const (
	waitStopped waitEnd = iota // ctx was cancelled
	waitDue                    // the walk is due
	waitProbed                 // a probe answered while down: walk now
	waitGrown                  // the active user count went up: try an incremental refresh
)

// run is the background loop started by Start. A cache file that passes
// its checks is served at once and its walk is due RefreshInterval after
// the walk that wrote it; without one the first walk starts at once.
func (ic *idCache) run(ctx context.Context) {
	defer close(ic.stopped)
	if ic.cacheFile != "" {
		defer releaseCacheFile(ic.cacheFile)
	}
	var plan *walkPlan // nil: walk now
	if snap := ic.restore(ctx); snap != nil {
		plan = &walkPlan{next: snap.finished.Add(ic.cfg.RefreshInterval), earliest: time.Now().Add(max(ic.cfg.MinEarlyGap, 0))}
	}
	// A re-walk after a disagreement never waits longer than a walk on
	// schedule would (the documented bound: exact within the refresh
	// interval plus two walks of an account change).
	rewalkMin := min(ic.rewalkMin, ic.cfg.RefreshInterval)
	retry, rewalk := ic.retryMin, rewalkMin
	probed := false // the current walk was started by a probe
	for {
		if plan != nil {
			switch ic.wait(ctx, plan) {
			case waitStopped:
				return
			case waitGrown:
				// Applied, the full walk keeps its time; otherwise it
				// is brought forward.
				if !ic.refreshIncremental(ctx) {
					if ctx.Err() != nil {
						return
					}
					plan.changed = true
				}
				continue
			case waitProbed:
				probed = true
			case waitDue:
				probed = false
			}
		}
		begin := time.Now()
		err := ic.Refresh(ctx)
		if ctx.Err() != nil {
			return
		}
		end := time.Now()
		plan = &walkPlan{next: end.Add(ic.cfg.RefreshInterval), earliest: end.Add(max(ic.cfg.MinEarlyGap, 0))}
		if t := begin.Add(time.Duration(ic.earlyWalks) * end.Sub(begin)); t.After(plan.earliest) {
			plan.earliest = t
		}
		switch d := ic.statsDiff.Load(); {
		case err != nil:
			level.Error(ic.logger).Log("msg", "user id cache refresh failed; keeping the previous cache", "retry_in", retry, "err", err)
			plan.next, plan.probe = end.Add(retry), true
			// A walk that failed for want of an answer counts as an
			// outage: the first probe that answers brings the retry
			// forward (not twice in a row without a failed probe, so a
			// server failing only GET /users is not walked every probe).
			plan.down = isOutage(err) && !probed
			retry = min(2*retry, ic.cfg.RefreshInterval)
		case d != nil && *d != 0:
			plan.next = end.Add(rewalk)
			rewalk = min(2*rewalk, ic.cfg.RefreshInterval)
			retry = ic.retryMin
		default:
			retry, rewalk = ic.retryMin, rewalkMin
		}
	}
}

// isOutage reports whether a walk failed for want of an answer: no HTTP
// answer at all, a timeout, or a 5xx (a proxy's 502 while Mattermost is
// down), rather than an answer refusing the walk (4xx) or a bad page.
func isOutage(err error) bool {
	if apiErr, ok := errors.AsType[*mmclient.APIError](err); ok {
		return apiErr.StatusCode >= 500
	}
	_, isURLErr := errors.AsType[*url.Error](err)
	return isURLErr || errors.Is(err, context.DeadlineExceeded)
}

// wait sleeps until p.next, or returns sooner: at once when ctx is
// cancelled; with p.probe, when a probe answers while p.down (GET
// /users/stats is asked every probeEvery; a failed probe sets p.down);
// otherwise GET /users/stats is asked every StatsInterval and a change of
// total_users_count sets p.changed, which makes the walk due at p.earliest,
// or, when the count went up and an incremental refresh can be tried, ends
// the wait at once (not when p.changed already: the walk is due at
// earliest).
func (ic *idCache) wait(ctx context.Context, p *walkPlan) waitEnd {
	timer := time.NewTimer(time.Until(p.next))
	defer timer.Stop()
	// bringForward makes the walk due at earliest (if that is sooner).
	bringForward := func() {
		if t := time.Until(p.earliest); t < time.Until(p.next) {
			timer.Reset(max(t, 0))
		}
	}
	if p.changed {
		bringForward()
	}
	every := ic.cfg.StatsInterval
	if p.probe {
		every = ic.probeEvery
	}
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return waitStopped
		case <-timer.C:
			if p.changed && time.Now().Before(p.next) {
				ic.early.Inc()
			}
			return waitDue
		case <-tick:
			if p.changed {
				continue
			}
			total, err := ic.statsTotal(ctx)
			switch {
			case err != nil:
				p.down = true
				continue
			case p.probe && !p.down:
				continue
			case p.probe:
				level.Info(ic.logger).Log("msg", "Mattermost answers again; retrying the user id walk now")
				return waitProbed
			}
			seen := ic.statsSeen.Load()
			if seen == nil {
				ic.statsSeen.Store(&total)
				continue
			}
			if total > *seen && ic.incrementalPossible() {
				level.Debug(ic.logger).Log("msg", "active user count went up; looking for the new accounts", "was", *seen, "now", total)
				return waitGrown
			}
			if total != *seen {
				level.Info(ic.logger).Log("msg", "active user count changed; refreshing the user id cache early", "was", *seen, "now", total)
				p.changed = true
				bringForward()
			}
		}
	}
}
