package userids

import (
	"context"
	"fmt"
	"time"

	"github.com/go-kit/log/level"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// The incremental refresh finds the accounts created since the last walk
// without walking GET /users again (whose OFFSET paging makes a walk cost
// the square of the user count). GET /users has no "since", but:
//
//   - GET /users?in_team=T&sort=create_at lists a team's members newest
//     account first, so the accounts created since the walk are at the top
//     of every team they joined: a team is read until a page holds an
//     account created no later than the newest one the walk saw (usually
//     its first page);
//   - GET /users?without_team=true lists the accounts in no team (by
//     username: read whole, it is small);
//   - GET /teams lists the teams (every one for a system admin).
//
// It runs when GET /users/stats reports more active accounts than the last
// refresh (fewer means deactivations: a full walk). The new active accounts
// are merged into a new snapshot, published only when the result agrees
// with GET /users/stats asked right after; anything else (an error, a
// bound reached, a team the token cannot see, a deactivation hiding behind
// a creation) leaves the snapshot as it was and the full walk is brought
// forward as before. The full walk every --collector.users.refresh-interval
// stays the safety net for changes that keep the count (one account
// deactivated and another created in a team the token cannot see).
//
// Bounds: incrMaxTeamPages pages of teams, incrMaxPagesPerTeam pages per
// team, incrMaxNoTeamPages pages of accounts in no team, and in all at
// most a quarter of the pages of a full walk (else the walk is cheaper).
// Pages go through the walk's pacer (fetchPaced): a 429 slows them down.

const (
	// incrMaxTeamPages: 50 pages of 200 = 10,000 teams.
	incrMaxTeamPages    = 50
	incrMaxPagesPerTeam = 25
	// incrMaxNoTeamPages: 20,000 accounts in no team (1% of 1M users is
	// 50 pages; the list is by username, so it is read whole every time).
	incrMaxNoTeamPages = 100
	// incrCostShare: an incremental refresh costs at most 1/incrCostShare
	// of a full walk's pages.
	incrCostShare = 4
	// noTeamPageCost: a GET /users?without_team=true page counts as this
	// many walk pages. Mattermost checks every account's memberships for
	// each such page, whatever its offset: 0.7-1.1 s a page on a real 11.0
	// with 100,000 users, where a walk's page averaged 0.13 s.
	noTeamPageCost = 8
)

// Values of the result label of
// mattermost_exporter_users_incremental_refreshes_total.
const (
	incrApplied  = "applied"
	incrFellBack = "fell_back"
)

// IncrementalResults are the values of that label, in the order of
// Stats.Incremental.
var IncrementalResults = [...]string{incrApplied, incrFellBack}

// incrGiveUp is why an incremental refresh stopped before its end without
// an error from the server.
type incrGiveUp struct{ reason string }

func (e *incrGiveUp) Error() string { return e.reason }

func giveUp(format string, a ...any) error { return &incrGiveUp{reason: fmt.Sprintf(format, a...)} }

// incrementalPossible reports whether the snapshot can be brought up to
// date incrementally: it knows the newest create_at of its walk, agreed
// with GET /users/stats, and its walk is long enough for the smallest
// incremental refresh (a page of teams, a team, the accounts in no team)
// to be cheaper (below about 8,000 accounts the walk is as cheap).
func (c *Cache) incrementalPossible() bool {
	snap := c.snap.Load()
	d := c.statsDiff.Load()
	if c.incrForbidden.Load() || snap == nil || snap.NewestCreateAt <= 0 || d == nil || *d != 0 {
		return false
	}
	budget, _ := incrBudget(snap)
	return budget >= 2+noTeamPageCost // a page of teams, a team, the accounts in no team
}

// incrBudget returns the most pages an incremental refresh of snap may
// cost, and the pages of a full walk it is a share of (a walk reads every
// account once, deactivated ones too).
func incrBudget(snap *Snapshot) (budget, walkPages int) {
	walkPages = max(snap.Pages, int(snap.ActiveAll/walkPerPage)+1)
	return walkPages / incrCostShare, walkPages
}

// RefreshIncremental tries an incremental refresh once, synchronously; it
// reports whether it was applied (false: the caller walks). The loop calls
// it when GET /users/stats went up; benchmarks may too.
func (c *Cache) RefreshIncremental(ctx context.Context) bool {
	c.walkMu.Lock()
	defer c.walkMu.Unlock()
	begin := time.Now()
	old := c.snap.Load()
	if old == nil || old.NewestCreateAt <= 0 {
		return false
	}
	snap, found, err := c.incremental(ctx, old)
	pages := c.n.pages.Load()
	c.n.lastIncrPages.Store(pages)
	var total int64
	if err == nil {
		if total, err = c.statsTotal(ctx); err != nil {
			err = fmt.Errorf("GET /users/stats: %w", err)
		} else if snap.ActiveAll != total {
			err = giveUp("%d new active accounts found, but GET /users/stats says %d active accounts, not %d", found, total, snap.ActiveAll)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		c.n.incrFellBack.Add(1)
		level.Info(c.logger).Log("msg", "incremental user id refresh not applied; the next walk of GET /users is brought forward (at most one walk every 10 walk durations)", "reason", err, "pages", pages, "duration", time.Since(begin))
		if mmclient.IsForbidden(err) && c.incrForbidden.CompareAndSwap(false, true) {
			// GET /users?without_team=true needs list_users_without_team
			// and GET /teams shows other tokens only the teams open to
			// anyone: on real 5.37 and 11 servers only a system admin's
			// token can do this at all.
			level.Info(c.logger).Log("msg", "the incremental user id refresh needs a system admin token (GET /users?without_team=true and every team); not trying it again: new accounts are counted from the next walk")
		}
		return false
	}
	c.snap.Store(snap)
	c.recordStats(snap, total) // equal: checked above
	c.n.incrApplied.Add(1)
	level.Info(c.logger).Log("msg", "user id cache refreshed incrementally", "new_accounts", found, "cached", snap.IDs.Len(), "active_accounts", snap.ActiveAll, "pages", pages, "duration", time.Since(begin))
	c.saveFile(ctx, snap, total)
	return true
}

// incremental reads the accounts created since old's walk and returns old
// with them merged in, and how many new active accounts it found.
func (c *Cache) incremental(ctx context.Context, old *Snapshot) (*Snapshot, int64, error) {
	budget, walkPages := incrBudget(old)
	w := c.newWalk(0, old.NewestCreateAt)
	extra := 0 // cost of the no-team pages beyond one page each
	spend := func(cost int) error {
		extra += cost - 1 // counted as what it costs the server
		if int(c.n.pages.Load())+extra >= budget {
			return giveUp("more than %d pages, a quarter of a full walk's %d", budget, walkPages)
		}
		return nil
	}

	var teams []mmclient.Team
	err := readPages(ctx, w, spend, pagedList[mmclient.Team]{
		what: "GET /teams", items: "teams", maxPages: c.lim.maxTeamPages, cost: 1,
		get: func(ctx context.Context, page int) ([]mmclient.Team, error) {
			return c.client.GetTeams(ctx, page, walkPerPage)
		},
		take: func(ts []mmclient.Team) bool { teams = append(teams, ts...); return false },
	})
	if err != nil {
		return nil, 0, err
	}
	// Every team costs a page, and the accounts in no team at least one
	// page of noTeamPageCost.
	if need := int(c.n.pages.Load()) + len(teams) + noTeamPageCost; need > budget {
		return nil, 0, giveUp("%d teams: at least %d pages, more than %d, a quarter of a full walk's %d", len(teams), need, budget, walkPages)
	}

	// Archived teams too: their members are listed like any other team's,
	// and an account whose only team was archived is still active.
	for _, t := range teams {
		err := readPages(ctx, w, spend, pagedList[mmclient.User]{
			what: "team " + Truncate(t.ID, mmclient.UserIDLen), items: fmt.Sprintf("new accounts in team %q", Truncate(t.Name, 64)),
			maxPages: incrMaxPagesPerTeam, cost: 1,
			get: func(ctx context.Context, page int) ([]mmclient.User, error) {
				return c.client.GetTeamUsersNewestFirst(ctx, t.ID, page, walkPerPage)
			},
			// Newest first: a known account ends the team's new ones.
			take: func(users []mmclient.User) bool { return w.addNew(users, old.NewestCreateAt) },
		})
		if err != nil {
			return nil, 0, err
		}
	}

	err = readPages(ctx, w, spend, pagedList[mmclient.User]{
		what: "without_team", items: "accounts in no team", maxPages: incrMaxNoTeamPages, cost: noTeamPageCost,
		get: func(ctx context.Context, page int) ([]mmclient.User, error) {
			return c.client.GetUsersWithoutTeam(ctx, page, walkPerPage)
		},
		take: func(users []mmclient.User) bool { w.addNew(users, old.NewestCreateAt); return false },
	})
	if err != nil {
		return nil, 0, err
	}

	add := w.b.build(c.cfg.IncludeBots)
	if add.Invalid > 0 {
		level.Warn(c.logger).Log("msg", "incremental user id refresh skipped ids that are not Mattermost user ids (26 characters a-z0-9)", "count", add.Invalid)
	}
	merged, known := mergeIDs(&old.IDs, &add.IDs)
	found := add.ActiveAll - int64(known)
	snap := *old
	snap.IDs = merged
	snap.ActiveAll = old.ActiveAll + found
	snap.Bots = old.Bots + add.Bots
	snap.NewestCreateAt = w.newest
	return &snap, found, nil
}

// pagedList is one list an incremental refresh reads page by page.
type pagedList[T any] struct {
	what     string // names its pages in errors: "<what> page <n>"
	items    string // names its items when it has more than maxPages pages
	maxPages int
	cost     int // walk pages of the budget that a page counts as
	get      func(ctx context.Context, page int) ([]T, error)
	take     func([]T) (done bool) // done: the rest is known
}

// readPages reads l until a short page or until take is done. Each page
// first spends l.cost pages of the refresh's budget (spend gives up when
// it is spent); more than l.maxPages pages give up.
func readPages[T any](ctx context.Context, w *walkState, spend func(cost int) error, l pagedList[T]) error {
	for page := 0; ; page++ {
		if page >= l.maxPages {
			return giveUp("more than %d %s", l.maxPages*walkPerPage, l.items)
		}
		if err := spend(l.cost); err != nil {
			return err
		}
		got, err := fetchPaced(ctx, w, fmt.Sprintf("%s page %d", l.what, page), func(ctx context.Context) ([]T, error) {
			return l.get(ctx, page)
		})
		if err != nil {
			return err
		}
		if l.take(got) || len(got) < walkPerPage {
			return nil
		}
	}
}

// addNew records the active accounts of users created after since (and
// the newest create_at); it reports whether users holds an account created
// no later than since (in a newest-first listing, the rest is known).
func (w *walkState) addNew(users []mmclient.User, since int64) (reachedKnown bool) {
	for i := range users {
		u := &users[i]
		if u.CreateAt <= since {
			reachedKnown = true
			continue
		}
		w.newest = max(w.newest, u.CreateAt)
		if u.DeleteAt == 0 {
			w.b.add(u.ID, u.IsBot)
		}
	}
	return reachedKnown
}
