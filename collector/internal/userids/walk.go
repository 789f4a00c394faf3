package userids

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-kit/log/level"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// A walk pages through GET /users?page=N&per_page=200 (the server's
// maximum) until a short page, keeping active accounts (delete_at 0) and,
// with Config.IncludeBots, bots, WalkConcurrency pages in flight.
//
// Pacing: Mattermost's limiter allows 10 requests/s, burst 100, per client
// address, shared with the status sweeps. Pages are asked with
// mmclient.WithoutRetries, so the walk sees every 429: it waits Retry-After
// (1 s to walkMaxWait), then paces pages with a rate.Limiter at 5/s,
// halved by each further 429 down to one page per walkMaxWait/6, and
// doubled after every walkDecayPages clean pages until above 50/s, where
// it is back to full speed. After walkMaxThrottles 429s in a row the walk
// fails.

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
)

// walk pages through every account once and returns the new snapshot.
// WalkConcurrency workers take the next page number in turn; the walk ends
// when every page before the first short one has been read (pages handed
// out past it are discarded). All workers share one pacer, so a 429 slows
// the whole walk down.
func (c *Cache) walk(ctx context.Context, hint int64) (*Snapshot, error) {
	begin := time.Now()
	w := c.newWalk(int(min(hint+hint/50+walkPerPage, maxCachedIDs)), 0)
	g, gctx := errgroup.WithContext(ctx)
	for range max(c.cfg.WalkConcurrency, 1) {
		g.Go(func() error { return w.work(gctx) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	snap := w.b.build(c.cfg.IncludeBots)
	if snap.Invalid > 0 {
		level.Warn(c.logger).Log("msg", "user id walk skipped ids that are not Mattermost user ids (26 characters a-z0-9)", "count", snap.Invalid)
	}
	snap.Finished, snap.Duration, snap.Pages, snap.NewestCreateAt = time.Now(), time.Since(begin), int(c.n.pages.Load()), w.newest
	return snap, nil
}

// newWalk starts counting the pages of a walk or an incremental refresh
// and returns its state: a builder sized for about hint accounts, full
// speed, and newest as the newest create_at seen so far.
func (c *Cache) newWalk(hint int, newest int64) *walkState {
	c.n.pages.Store(0)
	return &walkState{c: c, b: newBuilder(hint), p: &pacer{lim: rate.NewLimiter(rate.Inf, 1), now: c.clock.now}, end: -1, newest: newest}
}

// walkState is one walk shared by its workers; mu guards all of it.
type walkState struct {
	c         *Cache
	mu        sync.Mutex
	b         *builder
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
	} else if page+1 >= w.c.lim.maxWalkPages {
		// A server listing accounts without end must not make the
		// builder grow without bound.
		return fmt.Errorf("user id walk: more than %d accounts (page %d is full): refusing to cache more", w.c.lim.maxWalkPages*walkPerPage, page)
	}
	for len(w.firsts) <= page {
		w.firsts = append(w.firsts, "")
	}
	if len(users) > 0 {
		// A server (or proxy) that ignores the page parameter would make
		// the walk endless: two pages in a row starting with the same
		// account mean the paging does not advance.
		first := Truncate(users[0].ID, mmclient.UserIDLen)
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
		return w.c.client.GetUsers(ctx, page, walkPerPage)
	})
}

// fetchPaced asks for one page (what names it in errors and logs) with
// get, paced by w's pacer, waiting and asking again after a 429. The walk
// and the incremental refresh (incremental.go) page through it.
func fetchPaced[T any](ctx context.Context, w *walkState, what string, get func(context.Context) ([]T, error)) ([]T, error) {
	c := w.c
	for {
		w.mu.Lock()
		d := w.p.wait()
		gen := w.slowdowns
		w.mu.Unlock()
		if err := c.clock.sleep(ctx, d); err != nil {
			return nil, fmt.Errorf("user id walk interrupted at %s: %w", what, err)
		}
		pctx, cancel := context.WithTimeout(ctx, walkPageTimeout)
		// No client retries: the walk sees every 429 and paces itself.
		items, err := get(mmclient.WithoutRetries(pctx))
		cancel()
		c.n.pages.Add(1) // live, so a slow walk shows progress
		if apiErr, ok := errors.AsType[*mmclient.APIError](err); ok && mmclient.IsTooManyRequests(apiErr) && ctx.Err() == nil {
			c.n.throttled.Add(1)
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
			level.Info(c.logger).Log("msg", "user id walk rate limited by Mattermost; slowing down", "page", what, "retry_after", wait, "pages_per_second", float64(limit))
			if err := c.clock.sleep(ctx, wait); err != nil {
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
