package collector

import (
	"context"
	"fmt"
	"sort"
	"strings"
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

var incrResults = []string{incrApplied, incrFellBack}

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
func (ic *idCache) incrementalPossible() bool {
	snap := ic.snap.Load()
	d := ic.statsDiff.Load()
	if ic.incrForbidden.Load() || snap == nil || snap.newestCreateAt <= 0 || d == nil || *d != 0 {
		return false
	}
	budget, _ := incrBudget(snap)
	return budget >= 2+noTeamPageCost // a page of teams, a team, the accounts in no team
}

// incrBudget returns the most pages an incremental refresh of snap may
// cost, and the pages of a full walk it is a share of (a walk reads every
// account once, deactivated ones too).
func incrBudget(snap *idSnapshot) (budget, walkPages int) {
	walkPages = max(snap.pages, int(snap.activeAll/walkPerPage)+1)
	return walkPages / incrCostShare, walkPages
}

// refreshIncremental tries an incremental refresh; it reports whether it
// was applied (false: the caller walks).
func (ic *idCache) refreshIncremental(ctx context.Context) bool {
	ic.walkMu.Lock()
	defer ic.walkMu.Unlock()
	begin := time.Now()
	old := ic.snap.Load()
	if old == nil || old.newestCreateAt <= 0 {
		return false
	}
	snap, found, err := ic.incremental(ctx, old)
	pages := ic.pages.Load()
	ic.lastIncrPages.Store(pages)
	var total int64
	if err == nil {
		if total, err = ic.statsTotal(ctx); err != nil {
			err = fmt.Errorf("GET /users/stats: %w", err)
		} else if snap.activeAll != total {
			err = giveUp("%d new active accounts found, but GET /users/stats says %d active accounts, not %d", found, total, snap.activeAll)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		ic.incrementals.WithLabelValues(incrFellBack).Inc()
		level.Info(ic.logger).Log("msg", "incremental user id refresh not applied; the next walk of GET /users is brought forward (at most one walk every 10 walk durations)", "reason", err, "pages", pages, "duration", time.Since(begin))
		if mmclient.IsForbidden(err) && ic.incrForbidden.CompareAndSwap(false, true) {
			// GET /users?without_team=true needs list_users_without_team
			// and GET /teams shows other tokens only the teams open to
			// anyone: on real 5.37 and 11 servers only a system admin's
			// token can do this at all.
			level.Info(ic.logger).Log("msg", "the incremental user id refresh needs a system admin token (GET /users?without_team=true and every team); not trying it again: new accounts are counted from the next walk")
		}
		return false
	}
	ic.snap.Store(snap)
	ic.recordStats(snap, total) // equal: checked above
	ic.incrementals.WithLabelValues(incrApplied).Inc()
	level.Info(ic.logger).Log("msg", "user id cache refreshed incrementally", "new_accounts", found, "cached", snap.ids.Len(), "active_accounts", snap.activeAll, "pages", pages, "duration", time.Since(begin))
	ic.saveCacheFile(ctx, snap, total)
	return true
}

// incremental reads the accounts created since old's walk and returns old
// with them merged in, and how many new active accounts it found.
func (ic *idCache) incremental(ctx context.Context, old *idSnapshot) (*idSnapshot, int64, error) {
	budget, walkPages := incrBudget(old)
	w := ic.newWalk(0, old.newestCreateAt)
	extra := 0 // cost of the no-team pages beyond one page each
	spend := func() error {
		if int(ic.pages.Load())+extra >= budget {
			return giveUp("more than %d pages, a quarter of a full walk's %d", budget, walkPages)
		}
		return nil
	}

	var teams []mmclient.Team
	for page := 0; ; page++ {
		if page >= ic.incrMaxTeamPages {
			return nil, 0, giveUp("more than %d teams", ic.incrMaxTeamPages*walkPerPage)
		}
		if err := spend(); err != nil {
			return nil, 0, err
		}
		ts, err := fetchPaced(ctx, w, fmt.Sprintf("GET /teams page %d", page), func(ctx context.Context) ([]mmclient.Team, error) {
			return ic.client.GetTeams(ctx, page, walkPerPage)
		})
		if err != nil {
			return nil, 0, err
		}
		teams = append(teams, ts...)
		if len(ts) < walkPerPage {
			break
		}
	}
	// Every team costs a page, and the accounts in no team at least one
	// page of noTeamPageCost.
	if need := int(ic.pages.Load()) + len(teams) + noTeamPageCost; need > budget {
		return nil, 0, giveUp("%d teams: at least %d pages, more than %d, a quarter of a full walk's %d", len(teams), need, budget, walkPages)
	}

	// Archived teams too: their members are listed like any other team's,
	// and an account whose only team was archived is still active.
	for _, t := range teams {
		for page := 0; ; page++ {
			if page >= ic.incrMaxPagesPerTeam {
				return nil, 0, giveUp("more than %d new accounts in team %q", ic.incrMaxPagesPerTeam*walkPerPage, truncate(t.Name, 64))
			}
			if err := spend(); err != nil {
				return nil, 0, err
			}
			users, err := fetchPaced(ctx, w, fmt.Sprintf("team %s page %d", truncate(t.ID, mmclient.UserIDLen), page), func(ctx context.Context) ([]mmclient.User, error) {
				return ic.client.GetTeamUsersNewestFirst(ctx, t.ID, page, walkPerPage)
			})
			if err != nil {
				return nil, 0, err
			}
			if reachedKnown := w.addNew(users, old.newestCreateAt); reachedKnown || len(users) < walkPerPage {
				break
			}
		}
	}

	for page := 0; ; page++ {
		if page >= ic.incrMaxNoTeamPages {
			return nil, 0, giveUp("more than %d accounts in no team", ic.incrMaxNoTeamPages*walkPerPage)
		}
		extra += noTeamPageCost - 1 // counted as what it costs the server
		if err := spend(); err != nil {
			return nil, 0, err
		}
		users, err := fetchPaced(ctx, w, fmt.Sprintf("without_team page %d", page), func(ctx context.Context) ([]mmclient.User, error) {
			return ic.client.GetUsersWithoutTeam(ctx, page, walkPerPage)
		})
		if err != nil {
			return nil, 0, err
		}
		w.addNew(users, old.newestCreateAt)
		if len(users) < walkPerPage {
			break
		}
	}

	add := w.b.build(ic.cfg.IncludeBots)
	if add.invalid > 0 {
		level.Warn(ic.logger).Log("msg", "incremental user id refresh skipped ids that are not Mattermost user ids (26 characters a-z0-9)", "count", add.invalid)
	}
	merged, known := mergeIDs(&old.ids, &add.ids)
	found := add.activeAll - int64(known)
	snap := *old
	snap.ids = merged
	snap.activeAll = old.activeAll + found
	snap.bots = old.bots + add.bots
	snap.newestCreateAt = w.newest
	return &snap, found, nil
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

// mergeIDs returns the sorted union of two sorted id sets, and how many
// ids of add were already in base. Runs of base between two added ids are
// copied whole (an added id's place is found by binary search).
func mergeIDs(base, add *userIDs) (userIDs, int) {
	if add.Len() == 0 {
		return *base, 0
	}
	var out strings.Builder
	out.Grow(base.SizeBytes() + add.SizeBytes())
	known, done := 0, 0 // done: ids of base written
	for j := range add.Len() {
		id := add.At(j)
		k := done + sort.Search(base.Len()-done, func(x int) bool { return base.At(done+x) >= id })
		out.WriteString(base.s[done*mmclient.UserIDLen : k*mmclient.UserIDLen])
		done = k
		if k < base.Len() && base.At(k) == id {
			known++
			continue
		}
		out.WriteString(id)
	}
	out.WriteString(base.s[done*mmclient.UserIDLen:])
	return userIDs{s: out.String()}, known
}
