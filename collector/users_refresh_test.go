package collector

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/collector/internal/userids"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// Tests of the id cache's background loop: when it walks.

func startUsers(t *testing.T, c *UsersCollector) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c.Start(ctx)
	t.Cleanup(func() {
		cancel()
		<-c.Stopped()
	})
}

// newProbingEnv is a users env whose failed walks are retried after an
// hour unless a probe (every probeEvery) brings the retry forward.
func newProbingEnv(t *testing.T, n int, probeEvery time.Duration) *usersEnv {
	t.Helper()
	cfg := serialWalkConfig()
	cfg.RefreshInterval = time.Hour
	return newUsersEnv(t, n, cfg, mmtest.Config{}, userids.WithRetry(time.Hour, probeEvery, time.Minute))
}

// When Mattermost answers again after an outage, the pending walk retry is
// brought forward by the GET /users/stats probe: counts come back without
// waiting for the retry backoff (here an hour).
func TestUsersRecoveryProbeWalksWhenServerReturns(t *testing.T) {
	env := newProbingEnv(t, 1500, 20*time.Millisecond)
	env.srv.SetDown(true)
	startUsers(t, env.c)
	waitFor(t, "the first walk to fail", func() bool { return float64(env.c.ids.Stats().RefreshErrors) == 1 })
	// While down the loop probes but does not walk.
	probes := env.srv.Requests(mmtest.EndpointUserStats)
	waitFor(t, "probes while down", func() bool { return env.srv.Requests(mmtest.EndpointUserStats) > probes+3 })
	if got := env.srv.Requests(mmtest.EndpointUsers); got != 1 {
		t.Fatalf("%d page requests while down, want 1 (the failed walk)", got)
	}
	if r := scrapeWithTimeout(t, env.c, 10*time.Second); !strings.Contains(r.err.Error(), "refresh failed") {
		t.Fatalf("scrape while down: %v", r.err)
	}

	env.srv.SetDown(false)
	waitFor(t, "the walk after the server's return", func() bool { return float64(env.c.ids.Stats().Refreshes) == 1 })
	r := scrapeWithTimeout(t, env.c, 10*time.Second)
	if r.err != nil {
		t.Fatal(r.err)
	}
	want := mmtest.CountStatuses(env.users)
	checkCounts(t, r, want.Humans, want.HumansManual)
	// Healthy again: no more probing (the next stats check is a minute away).
	n := env.srv.Requests(mmtest.EndpointUserStats)
	time.Sleep(200 * time.Millisecond)
	if got := env.srv.Requests(mmtest.EndpointUserStats); got != n {
		t.Fatalf("still probing after recovery: %d stats requests in 200 ms", got-n)
	}
}

// A walk that failed with a 502 while the probe answers at once (the server
// came back before the first probe) is retried at the first probe.
func TestUsersRecoveryProbeAfterA502(t *testing.T) {
	env := newProbingEnv(t, 700, 20*time.Millisecond)
	env.srv.SetFault(mmtest.EndpointUsers, mmtest.BadGatewayFault())
	startUsers(t, env.c)
	waitFor(t, "the first walk to fail", func() bool { return float64(env.c.ids.Stats().RefreshErrors) == 1 })
	env.srv.ClearFaults()
	waitFor(t, "the walk at the first probe", func() bool { return float64(env.c.ids.Stats().Refreshes) == 1 })
}

// A server failing only GET /users (502) while GET /users/stats answers is
// walked again once by the probe, not at every probe.
func TestUsersRecoveryProbeBringsForwardOnce(t *testing.T) {
	env := newProbingEnv(t, 700, 10*time.Millisecond)
	env.srv.SetFault(mmtest.EndpointUsers, mmtest.BadGatewayFault())
	startUsers(t, env.c)
	waitFor(t, "the probe-started walk to fail", func() bool { return float64(env.c.ids.Stats().RefreshErrors) == 2 })
	n := env.srv.Requests(mmtest.EndpointUserStats)
	waitFor(t, "probes", func() bool { return env.srv.Requests(mmtest.EndpointUserStats) > n+10 })
	if got := env.srv.Requests(mmtest.EndpointUsers); got != 2 {
		t.Fatalf("%d page requests, want 2 (the walk and one probe-started retry)", got)
	}
}

// A walk that fails while the server answers (here GET /users is
// forbidden) is no outage: the probe does not bring the retry forward.
func TestUsersRecoveryProbeIgnoresFailuresOfAnAnsweringServer(t *testing.T) {
	env := newProbingEnv(t, 500, 10*time.Millisecond)
	env.srv.SetFault(mmtest.EndpointUsers, mmtest.Fault{Code: http.StatusForbidden})
	startUsers(t, env.c)
	waitFor(t, "the first walk to fail", func() bool { return float64(env.c.ids.Stats().RefreshErrors) == 1 })
	n := env.srv.Requests(mmtest.EndpointUserStats)
	waitFor(t, "probes", func() bool { return env.srv.Requests(mmtest.EndpointUserStats) > n+10 })
	if got := env.srv.Requests(mmtest.EndpointUsers); got != 1 {
		t.Fatalf("%d page requests, want 1: answered probes brought a failing walk forward", got)
	}
}

// A walk that keeps failing while Mattermost answers (here GET /users is
// forbidden: a token without the permission) is retried after retryMin,
// then twice as long after each failure, up to the refresh interval: the
// exporter does not hammer a server that refuses it, nor fill its log.
func TestUsersFailingWalkBacksOff(t *testing.T) {
	cfg := serialWalkConfig()
	cfg.RefreshInterval = 200 * time.Millisecond
	var logs logBuffer
	env := newLoggedUsersEnv(t, 300, cfg, mmtest.Config{}, logs.Logger(), userids.WithRetry(20*time.Millisecond, 10*time.Second, time.Minute))
	env.srv.SetFault(mmtest.EndpointUsers, mmtest.Fault{Code: http.StatusForbidden})
	var mu sync.Mutex
	var asked []time.Time
	env.srv.SetLatency(func(endpoint string, _ int) time.Duration {
		if endpoint == mmtest.EndpointUsers {
			mu.Lock()
			asked = append(asked, time.Now())
			mu.Unlock()
		}
		return 0
	})
	startUsers(t, env.c)
	want := []string{"20ms", "40ms", "80ms", "160ms", "200ms", "200ms"}
	// The loop logs each failure after the walk has counted it.
	waitFor(t, "6 failed walks logged", func() bool {
		return len(logs.LinesContaining("user id cache refresh failed")) >= len(want)
	})
	var got []string
	for _, l := range logs.LinesContaining("user id cache refresh failed") {
		_, after, _ := strings.Cut(l, "retry_in=")
		got = append(got, strings.Fields(after + " ")[0])
	}
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Fatalf("retries after the failed walks %v, want %v then the refresh interval", got, want)
	}
	// And the loop waited that long between the walks' requests.
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(asked) && i < len(want); i++ {
		if d, _ := time.ParseDuration(want[i-1]); asked[i].Sub(asked[i-1]) < d {
			t.Errorf("walk %d came %s after walk %d, want at least %s", i+1, asked[i].Sub(asked[i-1]), i, d)
		}
	}
}

// A probe that fails marks the server as down even after a walk that
// failed for another reason (GET /users forbidden): once the server answers
// again the walk is retried at once, not after retryMin.
func TestUsersRecoveryProbeWalksAfterAnOutageFollowingAFailure(t *testing.T) {
	env := newProbingEnv(t, 500, 10*time.Millisecond)
	env.srv.SetFault(mmtest.EndpointUsers, mmtest.Fault{Code: http.StatusForbidden})
	startUsers(t, env.c)
	waitFor(t, "the first walk to fail", func() bool { return float64(env.c.ids.Stats().RefreshErrors) == 1 })
	env.srv.SetDown(true)
	n := env.srv.Requests(mmtest.EndpointUserStats)
	waitFor(t, "probes while down", func() bool { return env.srv.Requests(mmtest.EndpointUserStats) > n+3 })
	env.srv.ClearFaults()
	env.srv.SetDown(false)
	waitFor(t, "the walk once the server answers again", func() bool { return float64(env.c.ids.Stats().Refreshes) == 1 })
}

// An account renamed across a page boundary during the walk is skipped by
// OFFSET paging: GET /users/stats disagrees, the difference is exported and
// a quick re-walk counts the account.
func TestUsersRewalkAfterStatsDisagreement(t *testing.T) {
	cfg := serialWalkConfig()
	cfg.RefreshInterval = time.Hour
	users := mmtest.GenerateUsers(1000, 11)
	const firstRewalk = 300 * time.Millisecond
	var logs logBuffer
	env := newLoggedUsersEnv(t, 0, cfg, mmtest.Config{Users: users}, logs.Logger(),
		userids.WithStatsInterval(0), userids.WithRetry(10*time.Second, 10*time.Second, firstRewalk))

	// The account at position 700 (page 3), an active human, becomes the
	// first by username while page 1 is being answered: pages 2.. shift by
	// one, the walk has passed position 0 and never sees it.
	victim := -1
	for i := 700; i < len(users); i++ {
		if !users[i].IsBot && !users[i].Deactivated {
			victim = i
			break
		}
	}
	renamed := append([]mmtest.UserSpec(nil), users...)
	renamed[victim].Username = "aaaa-renamed"
	var once sync.Once
	env.srv.SetLatency(func(endpoint string, offset int) time.Duration {
		if endpoint == mmtest.EndpointUsers && offset == 200 {
			once.Do(func() { go env.srv.SetUsers(renamed) })
			time.Sleep(20 * time.Millisecond) // let SetUsers land before page 2
		}
		return 0
	})

	startUsers(t, env.c)
	waitFor(t, "the first walk", func() bool { return float64(env.c.ids.Stats().Refreshes) >= 1 })
	want := mmtest.CountStatuses(users)
	walkActive, statsTotal := fmt.Sprintf("walk_active=%d", want.Active-1), fmt.Sprintf("stats_total=%d", want.Active)
	if l := logs.LinesContaining("disagree", walkActive, statsTotal); len(l) != 1 {
		t.Fatalf("the first walk did not see the difference: %q", logs.String())
	}
	if st := env.c.ids.Stats(); st.Refreshes == 1 && (!st.StatsKnown || st.StatsDifference != -1) {
		t.Fatalf("stats difference after the first walk = %v (known %v), want -1", st.StatsDifference, st.StatsKnown)
	}
	waitFor(t, "the re-walk", func() bool { return float64(env.c.ids.Stats().Refreshes) == 2 })
	snap := env.c.ids.Snapshot()
	if !slices.Contains(idList(&snap.IDs), users[victim].ID) || snap.IDs.Len() != activeHumans(users) {
		t.Fatalf("after the re-walk: %d ids, want %d with the renamed account", snap.IDs.Len(), activeHumans(users))
	}
	r := scrapeWithTimeout(t, env.c, 10*time.Second)
	if v, ok := r.value("mattermost_exporter_users_stats_difference"); !ok || v != 0 {
		t.Fatalf("stats_difference after the re-walk = %v (present %v), want 0", v, ok)
	}
	checkCounts(t, r, want.Humans, want.HumansManual)
	// Agreement: no third walk soon.
	time.Sleep(3 * firstRewalk)
	if got := float64(env.c.ids.Stats().Refreshes); got != 2 {
		t.Fatalf("%v walks, want 2", got)
	}
}

// deactivateOneHuman deactivates the first active human account on the
// fake server (GET /users/stats goes down by one).
func (e *usersEnv) deactivateOneHuman() { deactivateOneHuman(e.srv, e.users) }

// deactivateOneHuman deactivates the first active human of users on srv.
func deactivateOneHuman(srv *mmtest.Server, users []mmtest.UserSpec) {
	for _, u := range users {
		if !u.IsBot && !u.Deactivated {
			srv.SetActive(u.ID, false)
			return
		}
	}
}

// A stats change brings the next walk forward, but not closer than
// earlyWalks walk durations to the previous walk's start: a slow walk is not
// repeated back to back however often the count changes.
func TestUsersEarlyRefreshWaitsWalkDurations(t *testing.T) {
	cfg := serialWalkConfig()
	cfg.RefreshInterval = time.Hour
	const pageLatency = 40 * time.Millisecond
	const earlyWalks = 10
	env := newUsersEnv(t, 1000, cfg, mmtest.Config{Latency: func(endpoint string, _ int) time.Duration {
		if endpoint == mmtest.EndpointUsers {
			return pageLatency
		}
		return 0
	}}, userids.WithEarlyWalks(earlyWalks), userids.WithStatsInterval(5*time.Millisecond),
		userids.WithMinEarlyGap(0)) // no gap of its own: only the walk durations hold the walk back
	startUsers(t, env.c)
	waitFor(t, "the first refresh", func() bool { return float64(env.c.ids.Stats().Refreshes) == 1 })
	first := env.c.ids.Snapshot()
	if first.Duration < 5*pageLatency {
		t.Fatalf("first walk took %s, want at least %s (6 pages of %s)", first.Duration, 5*pageLatency, pageLatency)
	}
	env.deactivateOneHuman()
	waitFor(t, "an early refresh", func() bool { return float64(env.c.ids.Stats().Refreshes) == 2 })
	second := env.c.ids.Snapshot()
	// The loop's walk began before the snapshot's and ended after it, so
	// its earliest early start is at least 9 snapshot durations after the
	// first snapshot was finished.
	gap, want := second.Finished.Add(-second.Duration).Sub(first.Finished), time.Duration(earlyWalks-1)*first.Duration
	if gap < want {
		t.Fatalf("early walk started %s after the previous one ended, want at least %s (%d walks of %s)", gap, want, earlyWalks, first.Duration)
	}
	if got := float64(env.c.ids.Stats().EarlyRefreshes); got != 1 {
		t.Fatalf("early refreshes = %v, want 1", got)
	}
}

// A stats change brings the next walk forward, but not closer than
// the least early gap to the previous walk's end.
func TestUsersEarlyRefreshKeepsItsGap(t *testing.T) {
	cfg := serialWalkConfig()
	cfg.RefreshInterval = time.Hour
	const minEarlyGap = 700 * time.Millisecond
	env := newUsersEnv(t, 1000, cfg, mmtest.Config{}, userids.WithStatsInterval(5*time.Millisecond), userids.WithMinEarlyGap(minEarlyGap))
	startUsers(t, env.c)
	waitFor(t, "the first refresh", func() bool { return float64(env.c.ids.Stats().Refreshes) == 1 })
	firstEnd := env.c.ids.Snapshot().Finished
	env.deactivateOneHuman()
	waitFor(t, "an early refresh", func() bool { return float64(env.c.ids.Stats().Refreshes) == 2 })
	snap := env.c.ids.Snapshot()
	if started := snap.Finished.Add(-snap.Duration); started.Sub(firstEnd) < minEarlyGap {
		t.Fatalf("early walk started %s after the previous one ended, want at least %s", started.Sub(firstEnd), minEarlyGap)
	}
	if got := float64(env.c.ids.Stats().EarlyRefreshes); got != 1 {
		t.Fatalf("early refreshes = %v, want 1", got)
	}
	if snap.IDs.Len() != activeHumans(env.users)-1 {
		t.Fatalf("after the early refresh: %d ids, want %d", snap.IDs.Len(), activeHumans(env.users)-1)
	}
}
