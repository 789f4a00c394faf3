package userids

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/go-kit/log/level"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// The loop (run) builds the user ids off the scrape path:
//
//   - A walk pages through GET /users?page=N&per_page=200 (the server's
//     maximum) until a short page, keeping active accounts (delete_at 0) and,
//     with Config.IncludeBots, bots. The result replaces the snapshot only
//     when the walk completes; a failed walk keeps the old one.
//   - Walks run every Config.RefreshInterval. Between walks
//     GET /users/stats is asked every minute (WithStatsInterval); a change of
//     total_users_count since the last walk brings the next walk forward, but
//     not closer than a minute (WithMinEarlyGap) to the previous walk's end nor than
//     10 walk durations to its start, so that constant sign-ups do not keep
//     the exporter walking.
//   - A total that went up is first met with an incremental refresh
//     (incremental.go): the accounts created since the walk are read
//     from the teams' newest members and the accounts in no team, and
//     merged in if GET /users/stats then agrees; the walk keeps its time.
//     Otherwise (or when the total went down) the walk is brought forward
//     as above.
//   - After a walk, GET /users/stats is compared with the walk's active
//     accounts (bots included, like total_users_count). A difference (accounts
//     changed during the walk: OFFSET paging by username skips an account
//     renamed across a page boundary) is told by Stats.StatsDifference
//     and the walk is made again after limits.rewalkMin (1 min, or the
//     refresh interval if shorter), doubling
//     while the difference stays, at most the refresh interval.
//   - A failed walk is retried after limits.retryMin (10 s), doubling up
//     to the refresh interval; meanwhile GET /users/stats is asked every
//     limits.probeEvery (10 s) and, when the walk failed for want of an
//     answer or a probe failed, the walk starts as soon as a probe
//     answers: the cache is rebuilt promptly when Mattermost comes back,
//     however long it was away.
//   - Pacing: see walk.go.

// earlyRefreshDurations: a stats-triggered walk starts no sooner than
// this many walk durations after the previous walk started.
const earlyRefreshDurations = 10

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

// run is the loop started by Start. A cache file that passes
// its checks is served at once and its walk is due RefreshInterval after
// the walk that wrote it; without one the first walk starts at once.
func (c *Cache) run(ctx context.Context) {
	defer close(c.stopped)
	var plan *walkPlan // nil: walk now
	if snap := c.restore(ctx); snap != nil {
		plan = &walkPlan{next: snap.Finished.Add(c.cfg.RefreshInterval), earliest: time.Now().Add(max(c.lim.minEarlyGap, 0))}
	}
	// A re-walk after a disagreement never waits longer than a walk on
	// schedule would (the documented bound: exact within the refresh
	// interval plus two walks of an account change).
	rewalkMin := min(c.lim.rewalkMin, c.cfg.RefreshInterval)
	retry, rewalk := c.lim.retryMin, rewalkMin
	probed := false // the current walk was started by a probe
	for {
		if plan != nil {
			switch c.wait(ctx, plan) {
			case waitStopped:
				return
			case waitGrown:
				// Applied, the full walk keeps its time; otherwise it
				// is brought forward.
				if !c.RefreshIncremental(ctx) {
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
		err := c.Refresh(ctx)
		if ctx.Err() != nil {
			return
		}
		end := time.Now()
		plan = &walkPlan{next: end.Add(c.cfg.RefreshInterval), earliest: end.Add(max(c.lim.minEarlyGap, 0))}
		if t := begin.Add(time.Duration(c.lim.earlyWalks) * end.Sub(begin)); t.After(plan.earliest) {
			plan.earliest = t
		}
		switch d := c.statsDiff.Load(); {
		case err != nil:
			level.Error(c.logger).Log("msg", "user id cache refresh failed; keeping the previous cache", "retry_in", retry, "err", err)
			plan.next, plan.probe = end.Add(retry), true
			// A walk that failed for want of an answer counts as an
			// outage: the first probe that answers brings the retry
			// forward (not twice in a row without a failed probe, so a
			// server failing only GET /users is not walked every probe).
			plan.down = isOutage(err) && !probed
			retry = min(2*retry, c.cfg.RefreshInterval)
		case d != nil && *d != 0:
			plan.next = end.Add(rewalk)
			rewalk = min(2*rewalk, c.cfg.RefreshInterval)
			retry = c.lim.retryMin
		default:
			retry, rewalk = c.lim.retryMin, rewalkMin
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
// otherwise GET /users/stats is asked every statsEvery and a change of
// total_users_count sets p.changed, which makes the walk due at p.earliest,
// or, when the count went up and an incremental refresh can be tried, ends
// the wait at once (not when p.changed already: the walk is due at
// earliest).
func (c *Cache) wait(ctx context.Context, p *walkPlan) waitEnd {
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
	every := c.lim.statsEvery
	if p.probe {
		every = c.lim.probeEvery
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
				c.n.early.Add(1)
			}
			return waitDue
		case <-tick:
			if p.changed {
				continue
			}
			total, err := c.statsTotal(ctx)
			switch {
			case err != nil:
				p.down = true
				continue
			case p.probe && !p.down:
				continue
			case p.probe:
				level.Info(c.logger).Log("msg", "Mattermost answers again; retrying the user id walk now")
				return waitProbed
			}
			seen := c.statsSeen.Load()
			if seen == nil {
				c.statsSeen.Store(&total)
				continue
			}
			if total > *seen && c.incrementalPossible() {
				level.Debug(c.logger).Log("msg", "active user count went up; looking for the new accounts", "was", *seen, "now", total)
				return waitGrown
			}
			if total != *seen {
				level.Info(c.logger).Log("msg", "active user count changed; refreshing the user id cache early", "was", *seen, "now", total)
				p.changed = true
				bringForward()
			}
		}
	}
}
