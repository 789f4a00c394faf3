package collector

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/collector/internal/userids"
	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// Tests of the incremental refresh (internal/userids/incremental.go): new
// accounts found between walks from GET /teams and the teams' newest
// members.

// incrUsers is the population of these tests: 16,000 accounts (a walk of 81
// pages, so an incremental refresh may cost 20, a no-team page counting 8),
// spread over teams with 1% in no team.
const incrUsers = 16000

type incrEnv struct {
	*usersEnv
	teams []mmtest.TeamSpec
	logs  *logBuffer
}

// newIncrEnv starts a fake with teams and a users collector using token;
// the first walk has completed when it returns and the fake's counters are
// zero. GET /users/stats is asked every 5 ms, and the least early gap is
// an hour unless opts say otherwise, so a full walk brought forward by a
// stats change would not come during the test.
func newIncrEnv(t *testing.T, teams int, token string, cfg UsersConfig, opts ...userids.Option) *incrEnv {
	t.Helper()
	ts := mmtest.GenerateTeams(teams)
	users := mmtest.GenerateUsers(incrUsers, 7)
	mmtest.AssignTeams(users, ts, 1)
	srv := mmtest.NewServer(mmtest.Config{Users: users, Teams: ts})
	t.Cleanup(srv.Close)
	client, err := mmclient.New(mmclient.Options{BaseURL: srv.URL, Token: token, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	// A full walk brought forward waits only the least early gap.
	opts = append([]userids.Option{userids.WithEarlyWalks(0), userids.WithStatsInterval(5 * time.Millisecond), userids.WithMinEarlyGap(time.Hour)}, opts...)
	c, err := newUsersCollector(Deps{Client: client, Logger: logs.Logger()}, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	e := &incrEnv{usersEnv: &usersEnv{srv: srv, users: users, client: client, c: c}, teams: ts, logs: logs}
	return e
}

func incrConfig() UsersConfig {
	cfg := serialWalkConfig()
	cfg.RefreshInterval = time.Hour
	return cfg
}

func (e *incrEnv) start(t *testing.T) {
	t.Helper()
	startUsers(t, e.c)
	waitFor(t, "the first walk", func() bool { return float64(e.c.ids.Stats().Refreshes) == 1 })
	if e.c.ids.Snapshot().NewestCreateAt == 0 {
		t.Fatal("the walk recorded no newest create_at")
	}
	e.srv.ResetCounters()
}

// add creates accounts on the fake (as if signed up now) and in e.users.
func (e *incrEnv) add(specs ...mmtest.UserSpec) {
	e.srv.AddUsers(specs)
	e.users = append(e.users, specs...)
}

func newSpec(i int, team string, bot bool, status string) mmtest.UserSpec {
	id := fmt.Sprintf("newaccount%016d", i)
	name := fmt.Sprintf("new%04d", i)
	if bot {
		name = "bot-" + name
	}
	return mmtest.UserSpec{ID: id, Username: name, Team: team, IsBot: bot, Status: status}
}

func (e *incrEnv) incr(result string) float64 {
	return float64(e.c.ids.Stats().Incremental[slices.Index(userids.IncrementalResults[:], result)])
}

// New accounts in two teams and in no team are found with one page per
// team, one of teams and one of the accounts in no team, without a walk;
// the counts are right at once.
func TestUsersIncrementalFindsNewAccountsWithoutAWalk(t *testing.T) {
	e := newIncrEnv(t, 3, mmtest.AdminToken, incrConfig())
	e.start(t)
	before := e.c.ids.Snapshot()
	e.add(newSpec(1, e.teams[0].ID, false, mmclient.StatusOnline),
		newSpec(2, e.teams[1].ID, false, mmclient.StatusDND),
		newSpec(3, "", false, ""),
		newSpec(4, e.teams[0].ID, true, mmclient.StatusOnline)) // a bot: counted by the stats, not cached
	waitFor(t, "the incremental refresh", func() bool { return e.incr("applied") == 1 })

	if got := float64(e.c.ids.Stats().Refreshes); got != 1 {
		t.Fatalf("%v full walks, want 1 (the first)", got)
	}
	// 3 teams, 1 page each; 80 accounts in no team, 1 page; 1 page of teams.
	if u, tm := e.srv.Requests(mmtest.EndpointUsers), e.srv.Requests(mmtest.EndpointTeams); u != 4 || tm != 1 {
		t.Fatalf("GET /users pages %d, GET /teams pages %d; want 4 and 1", u, tm)
	}
	snap := e.c.ids.Snapshot()
	ids := idList(&snap.IDs)
	for i := 1; i <= 3; i++ {
		if !slices.Contains(ids, newSpec(i, "", false, "").ID) {
			t.Fatalf("new account %d not cached", i)
		}
	}
	if slices.Contains(ids, newSpec(4, "", true, "").ID) {
		t.Fatal("new bot cached without --collector.users.include-bots")
	}
	all := mmtest.CountStatuses(e.users)
	if snap.IDs.Len() != activeHumans(e.users) || snap.ActiveAll != int64(all.Active) || snap.Bots != before.Bots+1 {
		t.Fatalf("after: %d ids, %d active, %d bots; want %d, %d, %d", snap.IDs.Len(), snap.ActiveAll, snap.Bots, activeHumans(e.users), all.Active, before.Bots+1)
	}
	if !slices.IsSorted(ids) || snap.NewestCreateAt <= before.NewestCreateAt || snap.Finished != before.Finished {
		t.Fatalf("ids sorted %v, newest %d (was %d), finished changed %v", slices.IsSorted(ids), snap.NewestCreateAt, before.NewestCreateAt, snap.Finished != before.Finished)
	}
	if l := e.logs.LinesContaining("refreshed incrementally", "new_accounts=4", "pages=5"); len(l) != 1 {
		t.Fatalf("no info line for the incremental refresh: %s", e.logs.String())
	}
	r := scrapeWithTimeout(t, e.c, 10*time.Second)
	if r.err != nil {
		t.Fatal(r.err)
	}
	checkCounts(t, r, all.Humans, all.HumansManual)
	for _, c := range []struct {
		name  string
		label []string
		want  float64
	}{
		{"mattermost_exporter_users_last_refresh_pages", []string{"kind", "incremental"}, 5},
		{"mattermost_exporter_users_last_refresh_pages", []string{"kind", "full"}, float64(walkPages(incrUsers))},
		{"mattermost_exporter_users_refresh_requests", nil, 5},
		{"mattermost_exporter_users_incremental_refreshes_total", []string{"result", "applied"}, 1},
		{"mattermost_exporter_users_incremental_refreshes_total", []string{"result", "fell_back"}, 0},
		{"mattermost_exporter_users_stats_difference", nil, 0},
	} {
		if v, ok := r.value(c.name, c.label...); !ok || v != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.label, v, ok, c.want)
		}
	}
	// Agreement: nothing more happens.
	n := e.srv.Requests(mmtest.EndpointUserStats)
	waitFor(t, "more stats checks", func() bool { return e.srv.Requests(mmtest.EndpointUserStats) > n+5 })
	if e.incr("applied")+e.incr("fell_back") != 1 || float64(e.c.ids.Stats().Refreshes) != 1 {
		t.Fatal("refreshed again without a change")
	}
}

// With a token that is not a system admin's the incremental refresh cannot
// work (GET /users?without_team=true answers 403 on real servers, and
// GET /teams hides invite-only teams): the first attempt falls back, the
// full walk counts the account, and it is never tried again.
func TestUsersIncrementalNeedsASystemAdmin(t *testing.T) {
	cfg := incrConfig()
	e := newIncrEnv(t, 4, mmtest.UserToken, cfg, userids.WithMinEarlyGap(0)) // team04 is invite-only
	e.start(t)
	if e.teams[3].Open {
		t.Fatal("team04 is open")
	}
	e.add(newSpec(1, e.teams[3].ID, false, mmclient.StatusAway))
	waitFor(t, "the full walk", func() bool { return float64(e.c.ids.Stats().Refreshes) == 2 })
	if e.incr("fell_back") != 1 || e.incr("applied") != 0 {
		t.Fatalf("incremental: applied %v, fell back %v; want 0, 1", e.incr("applied"), e.incr("fell_back"))
	}
	// The open teams' first pages, the refused no-team page, then the walk.
	if u := e.srv.Requests(mmtest.EndpointUsers); u != 4+int64(walkPages(len(e.users))) {
		t.Fatalf("%d GET /users pages, want 4 + a walk of %d", u, walkPages(len(e.users)))
	}
	if l := e.logs.LinesContaining("not applied", "403"); len(l) != 1 {
		t.Fatalf("no fall-back line with the 403: %s", e.logs.String())
	}
	if l := e.logs.LinesContaining("needs a system admin token"); len(l) != 1 {
		t.Fatalf("no line saying a system admin token is needed: %s", e.logs.String())
	}
	snap := e.c.ids.Snapshot()
	if !slices.Contains(idList(&snap.IDs), newSpec(1, "", false, "").ID) {
		t.Fatal("the walk did not cache the new account")
	}
	all := mmtest.CountStatuses(e.users)
	checkCounts(t, scrapeWithTimeout(t, e.c, 10*time.Second), all.Humans, all.HumansManual)

	// Another new account: straight to the walk, no GET /teams.
	teams := e.srv.Requests(mmtest.EndpointTeams)
	e.add(newSpec(2, e.teams[0].ID, false, mmclient.StatusAway))
	waitFor(t, "the next full walk", func() bool { return float64(e.c.ids.Stats().Refreshes) == 3 })
	if n := e.srv.Requests(mmtest.EndpointTeams); n != teams || e.incr("fell_back") != 1 {
		t.Fatalf("tried again: GET /teams %d -> %d, fell back %v", teams, n, e.incr("fell_back"))
	}
}

// An account created with an old create_at (a bulk import) is not at the
// top of its team: the incremental refresh finds only the other new
// account, GET /users/stats disagrees, nothing is published and the full
// walk counts both.
func TestUsersIncrementalFallsBackWhenStatsDisagree(t *testing.T) {
	cfg := incrConfig()
	e := newIncrEnv(t, 3, mmtest.AdminToken, cfg, userids.WithMinEarlyGap(0))
	e.start(t)
	before := e.c.ids.Snapshot()
	imported := newSpec(2, e.teams[1].ID, false, mmclient.StatusDND)
	imported.CreateAt = 1
	e.add(newSpec(1, e.teams[0].ID, false, mmclient.StatusAway), imported)
	waitFor(t, "the full walk", func() bool { return float64(e.c.ids.Stats().Refreshes) == 2 })
	if e.incr("fell_back") != 1 || e.incr("applied") != 0 {
		t.Fatalf("incremental: applied %v, fell back %v; want 0, 1", e.incr("applied"), e.incr("fell_back"))
	}
	if l := e.logs.LinesContaining("not applied", "1 new active accounts found", "GET /users/stats says"); len(l) != 1 {
		t.Fatalf("no fall-back line naming the disagreement: %s", e.logs.String())
	}
	snap := e.c.ids.Snapshot()
	if snap == before || snap.IDs.Len() != activeHumans(e.users) {
		t.Fatalf("after the walk %d ids, want %d", snap.IDs.Len(), activeHumans(e.users))
	}
	all := mmtest.CountStatuses(e.users)
	checkCounts(t, scrapeWithTimeout(t, e.c, 10*time.Second), all.Humans, all.HumansManual)
}

// Fewer active accounts (a deactivation) bring the full walk forward
// directly: no incremental refresh.
func TestUsersIncrementalNotTriedWhenTheCountGoesDown(t *testing.T) {
	cfg := incrConfig()
	e := newIncrEnv(t, 3, mmtest.AdminToken, cfg, userids.WithMinEarlyGap(0))
	e.start(t)
	var victim string
	for _, u := range e.users {
		if !u.IsBot && !u.Deactivated {
			victim = u.ID
			break
		}
	}
	e.srv.SetActive(victim, false)
	waitFor(t, "the full walk", func() bool { return float64(e.c.ids.Stats().Refreshes) == 2 })
	if e.srv.Requests(mmtest.EndpointTeams) != 0 || e.incr("applied")+e.incr("fell_back") != 0 {
		t.Fatal("an incremental refresh was tried for a deactivation")
	}
	if slices.Contains(idList(&e.c.ids.Snapshot().IDs), victim) {
		t.Fatal("deactivated account still cached")
	}
}

// Too many teams, or more pages than a quarter of a walk: a full walk.
func TestUsersIncrementalGivesUpBeyondItsBounds(t *testing.T) {
	for _, tc := range []struct {
		name       string
		teams      int
		maxTeamPgs int
		teamPages  int64 // GET /teams pages asked
		reason     string
	}{
		// 201 teams need 2 pages of teams; the bound is lowered to 1.
		{name: "teams", teams: 201, maxTeamPgs: 1, teamPages: 1, reason: "more than 200 teams"},
		// 12 teams: 1 + 12 + 1 pages, more than 10 (a quarter of 41).
		{name: "quarter", teams: 12, maxTeamPgs: 50, teamPages: 1, reason: "a quarter of a full walk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := incrConfig()
			e := newIncrEnv(t, tc.teams, mmtest.AdminToken, cfg, userids.WithMinEarlyGap(0), userids.WithMaxTeamPages(tc.maxTeamPgs))
			e.start(t)
			e.add(newSpec(1, e.teams[0].ID, false, ""))
			waitFor(t, "the full walk", func() bool { return float64(e.c.ids.Stats().Refreshes) == 2 })
			if e.incr("fell_back") != 1 {
				t.Fatalf("fell back %v times, want 1", e.incr("fell_back"))
			}
			if got := e.srv.Requests(mmtest.EndpointTeams); got != tc.teamPages {
				t.Fatalf("%d GET /teams pages, want %d", got, tc.teamPages)
			}
			// No team page was read: only the walk's pages.
			if u := e.srv.Requests(mmtest.EndpointUsers); u != int64(walkPages(len(e.users))) {
				t.Fatalf("%d GET /users pages, want the walk's %d", u, walkPages(len(e.users)))
			}
			if l := e.logs.LinesContaining("not applied", tc.reason); len(l) != 1 {
				t.Fatalf("no fall-back line with %q: %s", tc.reason, e.logs.String())
			}
			if !slices.Contains(idList(&e.c.ids.Snapshot().IDs), newSpec(1, "", false, "").ID) {
				t.Fatal("the walk did not cache the new account")
			}
		})
	}
}

// An incremental refresh costs Mattermost at most a quarter of a full
// walk's pages, counting a page of accounts in no team as the 8 walk pages
// it costs the server. With few teams but many accounts in no team (here
// 1,619 of 16,000: 9 pages, 72 walk pages' worth, against a budget of 20
// of the walk's 81) it stops after the second no-team page and the full walk
// is brought forward instead: reading them all would cost the server more
// than the walk it saves.
func TestUsersIncrementalStopsAtItsPageBudget(t *testing.T) {
	cfg := incrConfig()
	e := newIncrEnv(t, 3, mmtest.AdminToken, cfg, userids.WithMinEarlyGap(0))
	mmtest.AssignTeams(e.users, e.teams, 10)
	e.srv.SetUsers(e.users)
	e.start(t)
	noTeam := 0
	for _, u := range e.users {
		if u.Team == "" {
			noTeam++
		}
	}
	if noTeam <= 3*mmclient.MaxPerPage {
		t.Fatalf("%d accounts in no team: fewer than 4 pages, the budget is not reached", noTeam)
	}
	e.add(newSpec(1, e.teams[0].ID, false, mmclient.StatusOnline))
	waitFor(t, "the incremental refresh", func() bool { return e.incr("applied")+e.incr("fell_back") == 1 })
	if e.incr("fell_back") != 1 {
		t.Fatalf("incremental refresh applied after %d GET /users pages: it read past its budget", e.srv.Requests(mmtest.EndpointUsers))
	}
	if l := e.logs.LinesContaining("not applied", "more than 20 pages, a quarter of a full walk's 81"); len(l) != 1 {
		t.Fatalf("no fall-back line naming the budget: %s", e.logs.String())
	}
	waitFor(t, "the full walk", func() bool { return float64(e.c.ids.Stats().Refreshes) == 2 })
	// GET /teams once, then 3 team pages and 2 no-team pages of GET
	// /users (4 + 2*8 = 20 walk pages' worth), then the walk.
	if u := e.srv.Requests(mmtest.EndpointUsers); u != 5+int64(walkPages(len(e.users))) {
		t.Fatalf("%d GET /users pages, want 5 + a walk of %d", u, walkPages(len(e.users)))
	}
	r := scrapeWithTimeout(t, e.c, 10*time.Second)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if v, ok := r.value("mattermost_exporter_users_last_refresh_pages", "kind", "incremental"); !ok || v != 6 {
		t.Errorf("last incremental refresh pages = %v (present %v), want 6", v, ok)
	}
	all := mmtest.CountStatuses(e.users)
	checkCounts(t, r, all.Humans, all.HumansManual)
}

// A 429 on a team page is waited out (Retry-After) through the walk's
// pacer, and the refresh still applies.
func TestUsersIncrementalPacesAfterA429(t *testing.T) {
	var mu sync.Mutex
	var waits []time.Duration
	sleep := func(ctx context.Context, d time.Duration) error {
		if d > 0 {
			mu.Lock()
			waits = append(waits, d)
			mu.Unlock()
		}
		return ctx.Err()
	}
	e := newIncrEnv(t, 3, mmtest.AdminToken, incrConfig(), userids.WithWalkClock(time.Now, sleep))
	e.start(t)
	e.srv.SetFault(mmtest.EndpointUsers, mmtest.Fault{Code: http.StatusTooManyRequests, RetryAfter: 2, Times: 1})
	e.add(newSpec(1, e.teams[2].ID, false, mmclient.StatusOnline))
	waitFor(t, "the incremental refresh", func() bool { return e.incr("applied")+e.incr("fell_back") == 1 })
	if e.incr("applied") != 1 {
		t.Fatalf("not applied: %s", e.logs.String())
	}
	if got := float64(e.c.ids.Stats().Throttled); got != 1 {
		t.Fatalf("throttled = %v, want 1", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(waits, 2*time.Second) {
		t.Fatalf("waits %v: the Retry-After of 2 s was not waited", waits)
	}
	// The throttled page was asked again: 3 teams + 1 no-team + 1 retry.
	if u := e.srv.Requests(mmtest.EndpointUsers); u != 5 {
		t.Fatalf("%d GET /users pages, want 5", u)
	}
	if !slices.Contains(idList(&e.c.ids.Snapshot().IDs), newSpec(1, "", false, "").ID) {
		t.Fatal("new account not cached")
	}
}

// An incremental refresh that fails part-way (here the last page, after
// new accounts were already read from the teams) publishes nothing: the
// old snapshot stays until the full walk.
func TestUsersIncrementalPublishesNothingPartial(t *testing.T) {
	cfg := incrConfig()
	cfg.CacheFile = filepath.Join(t.TempDir(), "users.ids")
	e := newIncrEnv(t, 3, mmtest.AdminToken, cfg)
	e.start(t)
	before := e.c.ids.Snapshot()
	writes := float64(e.c.ids.Stats().CacheFileWrites)
	var pages atomic.Int64
	e.srv.SetLatency(func(endpoint string, _ int) time.Duration {
		// The third team page fails the next request: the no-team page.
		if endpoint == mmtest.EndpointUsers && pages.Add(1) == 3 {
			e.srv.SetFault(mmtest.EndpointUsers, mmtest.Fault{Code: http.StatusInternalServerError, Times: 1})
		}
		return 0
	})
	e.add(newSpec(1, e.teams[0].ID, false, ""), newSpec(2, e.teams[1].ID, false, ""))
	waitFor(t, "the incremental refresh to fail", func() bool { return e.incr("fell_back") == 1 })
	if e.c.ids.Snapshot() != before || float64(e.c.ids.Stats().CacheFileWrites) != writes {
		t.Fatal("a failed incremental refresh replaced the snapshot or the cache file")
	}
	if l := e.logs.LinesContaining("not applied", "without_team page 0", "500"); len(l) != 1 {
		t.Fatalf("no fall-back line naming the failed page: %s", e.logs.String())
	}
	// The full walk is brought forward as before (here the least early gap away),
	// and no second incremental refresh is tried meanwhile.
	n := e.srv.Requests(mmtest.EndpointTeams)
	time.Sleep(100 * time.Millisecond)
	if e.srv.Requests(mmtest.EndpointTeams) != n || e.incr("applied") != 0 {
		t.Fatal("incremental refresh tried again while the walk is due")
	}
	r := scrapeWithTimeout(t, e.c, 10*time.Second)
	if v, ok := r.value("mattermost_exporter_users_cached"); !ok || v != float64(before.IDs.Len()) {
		t.Fatalf("cached = %v, want the old %d", v, before.IDs.Len())
	}
}

// With --collector.users.include-bots a new bot is cached, and the cache
// file is written again after the incremental refresh. (What that file
// holds: the userids package's TestCacheFileAfterIncrementalRefresh.)
func TestUsersIncrementalWithBotsAndCacheFile(t *testing.T) {
	cfg := incrConfig()
	cfg.IncludeBots = true
	cfg.CacheFile = filepath.Join(t.TempDir(), "users.ids")
	e := newIncrEnv(t, 3, mmtest.AdminToken, cfg)
	e.start(t)
	waitFor(t, "the first cache file", func() bool { return float64(e.c.ids.Stats().CacheFileWrites) == 1 })
	walked := e.c.ids.Snapshot()
	e.add(newSpec(1, e.teams[1].ID, true, ""))
	waitFor(t, "the cache file after the incremental refresh", func() bool { return float64(e.c.ids.Stats().CacheFileWrites) == 2 })
	snap := e.c.ids.Snapshot()
	if !slices.Contains(idList(&snap.IDs), newSpec(1, "", true, "").ID) || snap.IDs.Len() != walked.IDs.Len()+1 || snap.Bots != walked.Bots+1 {
		t.Fatalf("snapshot: %d ids, %d bots; want %d with the new bot, %d", snap.IDs.Len(), snap.Bots, walked.IDs.Len()+1, walked.Bots+1)
	}
}

func TestUsersIncrementalNotTriedForASmallServer(t *testing.T) {
	env := newUsersEnv(t, 6000, incrConfig(), mmtest.Config{Teams: mmtest.GenerateTeams(2)},
		userids.WithEarlyWalks(0), userids.WithStatsInterval(5*time.Millisecond), userids.WithMinEarlyGap(0))
	startUsers(t, env.c)
	waitFor(t, "the first walk", func() bool { return float64(env.c.ids.Stats().Refreshes) == 1 })
	env.srv.AddUsers([]mmtest.UserSpec{newSpec(1, "", false, "")})
	waitFor(t, "the early walk", func() bool { return float64(env.c.ids.Stats().Refreshes) == 2 })
	if n := env.srv.Requests(mmtest.EndpointTeams); n != 0 || env.c.ids.Stats().Incremental[slices.Index(userids.IncrementalResults[:], "fell_back")] != 0 {
		t.Fatalf("an incremental refresh was tried (%d GET /teams)", n)
	}
	if !slices.Contains(idList(&env.c.ids.Snapshot().IDs), newSpec(1, "", false, "").ID) {
		t.Fatal("the walk did not cache the new account")
	}
}
