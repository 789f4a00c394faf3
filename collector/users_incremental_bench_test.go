package collector

// The incremental refresh in BenchmarkUsers (users_bench_test.go calls
// benchIncremental and printBenchIncrTable): after the first walk, K new
// accounts are created on the fake process ("add K" on its stdin) and the
// refresh path the loop takes when GET /users/stats goes up is run once;
// its pages, its requests to every endpoint (the fake's counters) and its
// duration are reported beside the full walk's.

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// benchTeams is how many teams the bench fake has; all open, since the
// benchmark's token is a plain user's (who sees open teams only).
const benchTeams = 8

// benchNoTeamPercent of the generated accounts are in no team.
const benchNoTeamPercent = 1

// benchTeamUsers returns the bench fake's accounts and teams.
func benchTeamUsers(n int) ([]mmtest.UserSpec, []mmtest.TeamSpec) {
	users := mmtest.GenerateUsers(n, benchSeed)
	teams := mmtest.GenerateTeams(benchTeams)
	for i := range teams {
		teams[i].Open = true
	}
	mmtest.AssignTeams(users, teams, benchNoTeamPercent)
	return users, teams
}

// benchAdded numbers the accounts "add K" creates across commands.
var benchAdded int

// benchAddUsers creates the accounts of an "add K" command: spread over
// the teams, one in a hundred in no team, a tenth online.
func benchAddUsers(srv *mmtest.Server, count string) {
	k, _ := strconv.Atoi(count)
	teams := srv.Teams()
	specs := make([]mmtest.UserSpec, k)
	for i := range specs {
		benchAdded++
		u := mmtest.UserSpec{ID: fmt.Sprintf("benchnewaccount%011d", benchAdded), Username: fmt.Sprintf("newuser%07d", benchAdded)}
		if benchAdded%100 != 0 {
			u.Team = teams[benchAdded%len(teams)].ID
		}
		if benchAdded%10 == 0 {
			u.Status = "online"
		}
		specs[i] = u
	}
	srv.AddUsers(specs)
}

// benchIncr is one incremental refresh measured.
type benchIncr struct {
	k                   int
	applied             bool
	pages               int64
	usersReq, teamsReq  int64
	requests            int64 // every endpoint
	duration            time.Duration
	walkPages           int
	walkReq             int64
	walkDuration        float64
	cachedBefore, after int
}

// benchIncrResults holds the measurements by N for printBenchIncrTable.
var benchIncrResults = map[int][]benchIncr{}

// benchIncremental runs after the collector's loop stopped (so that the
// loop's own stats check cannot take the change first).
func benchIncremental(b *testing.B, fake *benchFake, c *UsersCollector, row *benchRow) {
	for _, k := range []int{10, 1000} {
		// Below about 14,000 accounts (8 teams) a walk costs less than 4 times
		// a page of teams, one per team and the accounts in no team: the
		// refresh must fall back then (the walk is cheaper).
		// The budget is a quarter of a walk's pages; a page of accounts
		// in no team costs 8 (internal/userids/incremental.go).
		snap := c.ids.Snapshot()
		budget := max(snap.Pages, int(snap.ActiveAll/mmclient.MaxPerPage)+1) / 4
		cheaper := 1+benchTeams+8 <= budget
		before := c.ids.Snapshot().IDs.Len()
		fake.command(b, "add "+strconv.Itoa(k), "OK")
		fake.reset(b)
		t0 := time.Now()
		applied := c.ids.RefreshIncremental(context.Background())
		r := benchIncr{k: k, applied: applied, duration: time.Since(t0), pages: c.ids.Stats().LastIncrementalPages,
			walkPages: row.refreshPages, walkReq: row.refreshRequests, walkDuration: row.refreshS,
			cachedBefore: before, after: c.ids.Snapshot().IDs.Len()}
		counts := fake.counts(b)
		r.usersReq, r.teamsReq = counts[mmtest.EndpointUsers], counts[mmtest.EndpointTeams]
		for _, v := range counts {
			r.requests += v
		}
		if applied != cheaper || (applied && r.after != before+k) || (!applied && r.after != before) {
			b.Errorf("N=%d, K=%d: incremental refresh applied %v (want %v: budget %d pages), %d ids cached after (%d before)", row.n, k, applied, cheaper, budget, r.after, before)
		}
		if r.usersReq+r.teamsReq != r.pages {
			b.Errorf("N=%d, K=%d: the fake counted %d pages, the refresh %d", row.n, k, r.usersReq+r.teamsReq, r.pages)
		}
		benchIncrResults[row.n] = append(benchIncrResults[row.n], r)
	}
}

func printBenchIncrTable(w io.Writer, rows []*benchRow) {
	fmt.Fprintf(w, "refresh between walks: K accounts created after the walk (%d open teams, %d%% of accounts in no team), then the incremental refresh the loop runs when GET /users/stats goes up, beside the full walk\n", benchTeams, benchNoTeamPercent)
	fmt.Fprintln(w, "| N | K new | incremental: pages (GET /teams + GET /users), requests (all endpoints), duration | applied, ids cached | full walk: pages, requests, duration |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, row := range rows {
		for _, r := range benchIncrResults[row.n] {
			applied := "true"
			if !r.applied {
				applied = "false (the walk is cheaper)"
			}
			fmt.Fprintf(w, "| %d | %d | %d (%d + %d), %d, %.0f ms | %s, %d -> %d | %d, %d, %.2f s |\n",
				row.n, r.k, r.pages, r.teamsReq, r.usersReq, r.requests, float64(r.duration.Microseconds())/1000,
				applied, r.cachedBefore, r.after, r.walkPages, r.walkReq, r.walkDuration)
		}
	}
	fmt.Fprintln(w)
}
