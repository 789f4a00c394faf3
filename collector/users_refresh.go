package collector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-kit/log/level"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// The id cache is built off the scrape path by a background loop (run):
//
//   - A walk pages through GET /users?page=N&per_page=200 (the server's
//     maximum) until a short page, keeping active accounts (delete_at 0) and,
//     with --collector.users.include-bots, bots. Results replace the cache
//     atomically only when the walk completes; a failed walk keeps the old
//     cache and is retried with a backoff (10 s doubling, at most the refresh
//     interval).
//   - Walks run every --collector.users.refresh-interval. Between walks the
//     loop asks GET /users/stats once per statsInterval (1 min); when
//     total_users_count differs from the value seen at the last walk, the next
//     walk is brought forward, but not closer than minEarlyGap (1 min) after
//     the previous walk's end nor than 10 walk durations after its start
//     (100k users: a 21 s walk, so at most one every 3.5 min), so a server
//     with constant sign-ups does not keep the exporter walking.
//   - Pacing (Mattermost's limiter allows 10 requests/s, burst 100, per client
//     address, shared with the status sweeps): page requests are made with
//     mmclient.WithoutRetries, so the client does not absorb a 429 with its
//     own Retry-After waits and retries; the walk sees every one. When a page
//     fails with 429, the walk sleeps Retry-After (at least 1 s), then waits
//     walkThrottleDelay (200 ms: at most 5 pages/s, half the limiter's
//     sustained rate, leaving the rest to the scrapes) between pages; each
//     further 429 doubles that delay up to walkMaxDelay (5 s). After
//     walkDecayPages (3) clean pages in a row the delay halves, and below
//     20 ms it returns to 0 (full speed): a walk that was slowed to 5 s a
//     page is back to full speed about 20 s after the pressure ends (with 50
//     pages, a real 15-page walk stayed at 5 s a page for its whole rest). The same page is asked again; after
//     walkMaxThrottles (20) 429s in a row the walk fails.
//     GET /users/stats keeps the client's retries (one call a minute).
//   - A status sweep that fails with 429 halves the sweep concurrency of the
//     next sweeps (users_sweep.go).

const (
	walkPerPage       = mmclient.MaxPerPage
	walkThrottleDelay = 200 * time.Millisecond
	walkMaxDelay      = 5 * time.Second
	walkMinDelay      = 20 * time.Millisecond
	walkDecayPages    = 3
	walkMaxThrottles  = 20
	walkMinRetryAfter = time.Second
	// walkPageTimeout bounds one page request (the walk itself has no
	// deadline: at 1M users it can legitimately take tens of minutes).
	walkPageTimeout = 2 * time.Minute
	// statsTimeout bounds one GET /users/stats.
	statsTimeout = 30 * time.Second
	// refreshRetryMin is the first wait after a failed walk; it doubles up
	// to the refresh interval.
	refreshRetryMin = 10 * time.Second
	minEarlyGap     = time.Minute
	// earlyRefreshDurations: a stats-triggered walk starts no sooner than
	// this many walk durations after the previous walk started.
	earlyRefreshDurations = 10
)

// pacer spaces the walk's page requests after rate limiting (see above).
type pacer struct {
	delay  time.Duration
	streak int
	sleep  func(ctx context.Context, d time.Duration) error
}

// before waits the current delay before the next page.
func (p *pacer) before(ctx context.Context) error {
	if p.delay <= 0 {
		return ctx.Err()
	}
	return p.sleep(ctx, p.delay)
}

// throttled records a 429 and returns how long to wait before asking the
// same page again.
func (p *pacer) throttled(retryAfter time.Duration) time.Duration {
	p.streak = 0
	if p.delay < walkThrottleDelay {
		p.delay = walkThrottleDelay
	} else {
		p.delay = min(2*p.delay, walkMaxDelay)
	}
	return max(retryAfter, walkMinRetryAfter)
}

// ok records a page that came back without a 429.
func (p *pacer) ok() {
	if p.delay == 0 {
		return
	}
	p.streak++
	if p.streak >= walkDecayPages {
		p.streak = 0
		p.delay /= 2
		if p.delay < walkMinDelay {
			p.delay = 0
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// walk pages through every account once and returns the new snapshot.
// hint is the expected number of active accounts (0 = unknown), used to size
// the builder.
func (c *UsersCollector) walk(ctx context.Context, hint int64) (*idSnapshot, error) {
	begin := time.Now()
	pages := 0
	b := newIDBuilder(int(min(hint+hint/50+walkPerPage, 50_000_000)))
	p := &pacer{sleep: c.sleep}
	c.lastWalkPages.Store(0)
	var prevFirst [userIDLen]byte
	var prevFirstLen int
	consecutive := 0
	for page := 0; ; {
		if err := p.before(ctx); err != nil {
			return nil, fmt.Errorf("user id walk interrupted at page %d: %w", page, err)
		}
		pctx, cancel := context.WithTimeout(ctx, walkPageTimeout)
		// No client retries: the walk sees every 429 and paces itself.
		users, err := c.client.GetUsers(mmclient.WithoutRetries(pctx), page, walkPerPage)
		cancel()
		pages++
		c.lastWalkPages.Store(int64(pages)) // live, so a slow walk shows progress
		if err != nil {
			var apiErr *mmclient.APIError
			if mmclient.IsTooManyRequests(err) && errors.As(err, &apiErr) && ctx.Err() == nil {
				c.walkThrottles.Add(1)
				consecutive++
				if consecutive > walkMaxThrottles {
					return nil, fmt.Errorf("user id walk: page %d rate limited %d times in a row: %w", page, consecutive, err)
				}
				wait := p.throttled(apiErr.RetryAfter)
				level.Info(c.logger).Log("msg", "user id walk rate limited by Mattermost; slowing down", "page", page, "retry_after", wait, "page_delay", p.delay)
				if err := c.sleep(ctx, wait); err != nil {
					return nil, fmt.Errorf("user id walk interrupted at page %d: %w", page, err)
				}
				continue // same page again
			}
			return nil, fmt.Errorf("user id walk: page %d: %w", page, err)
		}
		consecutive = 0
		p.ok()
		// A server (or proxy) that ignores the page parameter would make
		// this loop endless: two pages in a row starting with the same
		// account mean the paging does not advance.
		if len(users) > 0 {
			first := users[0].ID
			if page > 0 && prevFirstLen == len(first) && string(prevFirst[:prevFirstLen]) == first {
				return nil, fmt.Errorf("user id walk: pages %d and %d start with the same account: the server does not page GET /users", page-1, page)
			}
			prevFirstLen = copy(prevFirst[:], first)
		}
		for i := range users {
			if users[i].DeleteAt != 0 {
				continue
			}
			b.add(users[i].ID, users[i].IsBot)
		}
		if len(users) < walkPerPage {
			break
		}
		page++
	}
	invalid := b.invalid
	ids, activeAll, bots, dups := b.build(c.cfg.IncludeBots)
	if invalid > 0 {
		level.Warn(c.logger).Log("msg", "user id walk skipped ids that are not 26 characters long", "count", invalid)
	}
	return &idSnapshot{
		ids:        ids,
		activeAll:  activeAll,
		bots:       bots,
		finished:   time.Now(),
		duration:   time.Since(begin),
		pages:      pages,
		duplicates: dups,
		invalid:    invalid,
	}, nil
}

// statsTotal asks GET /users/stats; ok is false on error (logged at debug:
// the check is an optimisation, the periodic refresh still happens).
func (c *UsersCollector) statsTotal(ctx context.Context) (int64, bool) {
	sctx, cancel := context.WithTimeout(ctx, statsTimeout)
	defer cancel()
	st, err := c.client.GetUserStats(sctx)
	if err != nil {
		level.Debug(c.logger).Log("msg", "GET /users/stats failed", "err", err)
		return 0, false
	}
	return st.TotalUsersCount, true
}

// Refresh walks the users once, synchronously, and publishes the new id
// cache. The background loop calls it; tests and benchmarks may too.
func (c *UsersCollector) Refresh(ctx context.Context) error {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	before, beforeOK := c.statsTotal(ctx)
	hint := before
	if !beforeOK {
		if old := c.cache.Load(); old != nil {
			hint = old.activeAll
		}
	}
	snap, err := c.walk(ctx, hint)
	if err != nil {
		c.refreshErrors.Add(1)
		if ctx.Err() == nil {
			c.lastRefreshErr.Store(&err)
		}
		return err
	}
	c.lastRefreshErr.Store(nil)
	// Baseline for the stats check: if the total did not move during the
	// walk, or the walk saw exactly the final total, the cache matches the
	// server's count as of now. Otherwise accounts changed during the walk
	// and may be missing: keep the pre-walk value so that the next check
	// brings a refresh forward.
	after, afterOK := c.statsTotal(ctx)
	baseline, known := int64(0), false
	switch {
	case afterOK && (!beforeOK || before == after || snap.activeAll == after):
		baseline, known = after, true
	case beforeOK:
		baseline, known = before, true
	}
	if known && snap.activeAll != baseline {
		level.Debug(c.logger).Log("msg", "user id walk and GET /users/stats disagree (view restrictions of the token's account, or accounts changed during the walk)", "walk_active", snap.activeAll, "stats_total", baseline)
	}
	c.mu.Lock()
	c.statsBaseline, c.statsKnown = baseline, known
	c.mu.Unlock()
	c.cache.Store(snap)
	c.refreshes.Add(1)
	level.Info(c.logger).Log("msg", "user id cache refreshed", "cached", snap.ids.Len(), "active_accounts", snap.activeAll, "bots", snap.bots, "pages", snap.pages, "duplicates_dropped", snap.duplicates, "duration", snap.duration)
	return nil
}

// run is the background loop started by Start.
func (c *UsersCollector) run(ctx context.Context) {
	defer close(c.stopped)
	retry := refreshRetryMin
	for {
		var next time.Time
		begin := time.Now()
		if err := c.Refresh(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			level.Error(c.logger).Log("msg", "user id cache refresh failed; keeping the previous cache", "retry_in", retry, "err", err)
			next = time.Now().Add(retry)
			retry = min(2*retry, c.cfg.RefreshInterval)
		} else {
			retry = refreshRetryMin
			next = time.Now().Add(c.cfg.RefreshInterval)
		}
		// Earliest time a stats change may bring the next walk forward:
		// MinEarlyGap after this walk, and at least 10 walk durations
		// after its start (walks take at most ~10% of the time).
		dur := time.Since(begin)
		earliest := time.Now().Add(c.cfg.MinEarlyGap)
		if t := begin.Add(earlyRefreshDurations * dur); t.After(earliest) {
			earliest = t
		}
		if !c.waitForRefresh(ctx, next, earliest) {
			return
		}
	}
}

// waitForRefresh sleeps until next, checking GET /users/stats every
// StatsInterval and returning early (after earliest) when the total changed.
// It returns false when ctx is cancelled.
func (c *UsersCollector) waitForRefresh(ctx context.Context, next, earliest time.Time) bool {
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	var tick <-chan time.Time
	if c.cfg.StatsInterval > 0 {
		t := time.NewTicker(c.cfg.StatsInterval)
		defer t.Stop()
		tick = t.C
	}
	changed := false
	for {
		if changed && !time.Now().Before(earliest) {
			c.statsTriggered.Add(1)
			return true
		}
		var early <-chan time.Time
		if changed {
			early = time.After(time.Until(earliest))
		}
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		case <-early:
		case <-tick:
			if changed {
				continue
			}
			total, ok := c.statsTotal(ctx)
			if !ok {
				continue
			}
			c.mu.Lock()
			base, known := c.statsBaseline, c.statsKnown
			if !known {
				c.statsBaseline, c.statsKnown = total, true
			}
			c.mu.Unlock()
			if known && total != base {
				level.Info(c.logger).Log("msg", "active user count changed; refreshing the user id cache early", "was", base, "now", total)
				changed = true
			}
		}
	}
}
